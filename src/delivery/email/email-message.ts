/**
 * Builds the subject, plain-text part and HTML part of a notification email from an
 * ExternalMessage. Pure functions only, so every rule here is unit-tested without a
 * mail server.
 *
 * Rules, and why:
 * - Subject = the title on one line: every run of whitespace or control characters
 *   (CR, LF, tab, U+2028/2029, NEL …) becomes one space, then trimmed. A line break in a
 *   header value is how header injection starts, and clients show one line anyway.
 * - The text part is the title, the body (when present) and `Open: <link>`, separated by
 *   blank lines: it must read on its own, since some readers show only that part.
 * - The body appears only when it is non-null: it is null unless the notification asked
 *   for `external: "full"`, and "privacy-safe by default" means nothing stands in for it.
 * - The link is used only when it parses as an absolute http(s) URL; anything else
 *   (javascript:, data:, app schemes, garbage) is dropped from both parts, because a
 *   mail reader would either refuse it or run it. The HTML shows it as a button plus the
 *   URL as text underneath, since some clients block styled buttons.
 * - Every text is HTML-escaped (& < > " '); the HTML has no scripts, no remote images, no
 *   external CSS: inline styles and layout tables only, which is what mail clients
 *   (Outlook included) render consistently.
 * - Lone UTF-16 surrogates become U+FFFD and stray control characters are removed:
 *   neither can be encoded as valid UTF-8 text.
 */
import type { ExternalMessage } from '../channel.js';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

export type EmailMessageInput = Pick<ExternalMessage, 'title' | 'body' | 'link'>;

export interface EmailMessageOptions {
  /** The recipient's locale (BCP 47); sets the HTML `lang` so screen readers pick the right voice. */
  locale?: string | null;
}

/** Shown when a title is nothing but whitespace: an empty subject looks like spam. */
export const FALLBACK_SUBJECT = 'Notification';
export const BUTTON_LABEL = 'Open';

export function buildEmailMessage(message: EmailMessageInput, options: EmailMessageOptions = {}): EmailContent {
  const subject = subjectOf(message.title);
  const body = message.body === null ? null : cleanText(message.body).trim();
  const link = safeLink(message.link);
  const text = [subject, body ?? '', link === null ? '' : `${BUTTON_LABEL}: ${link}`].filter((part) => part !== '').join('\n\n');
  return { subject, text: `${text}\n`, html: renderHtml(subject, body, link, htmlLang(options.locale)) };
}

/** The title on one trimmed line (see the rules above). */
export function subjectOf(title: string): string {
  const line = wellFormed(title)
    .replace(/[\s\u0000-\u001f\u007f-\u009f\u200b\u2028\u2029\ufeff]+/gu, ' ')
    .trim();
  return line === '' ? FALLBACK_SUBJECT : line;
}

/** The link as a normalized absolute http(s) URL, or null when it is anything else. */
export function safeLink(link: string | null): string | null {
  if (link === null) return null;
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

function renderHtml(subject: string, body: string | null, link: string | null, lang: string | null): string {
  const title = escapeHtml(subject);
  const parts = [`<h1 style="margin:0 0 12px;font-size:20px;line-height:28px;font-weight:600;color:#1f2328;">${title}</h1>`];
  if (body !== null && body !== '') {
    for (const paragraph of body.split(/\n[ \t]*\n/)) {
      if (paragraph.trim() === '') continue;
      const lines = paragraph.split('\n').map(escapeHtml).join('<br>');
      parts.push(`<p style="margin:0 0 16px;font-size:15px;line-height:22px;color:#1f2328;">${lines}</p>`);
    }
  }
  if (link !== null) {
    const href = escapeHtml(link);
    parts.push(
      '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 0;"><tr>' +
        '<td style="border-radius:6px;background-color:#1f6feb;">' +
        `<a href="${href}" target="_blank" rel="noopener noreferrer" style="display:inline-block;padding:10px 22px;font-family:${FONT};font-size:15px;font-weight:600;line-height:20px;color:#ffffff;text-decoration:none;border-radius:6px;">${BUTTON_LABEL}</a>` +
        '</td></tr></table>',
      `<p style="margin:16px 0 0;font-size:12px;line-height:18px;color:#656d76;word-break:break-all;">${href}</p>`,
    );
  }
  return [
    '<!DOCTYPE html>',
    `<html${lang === null ? '' : ` lang="${escapeHtml(lang)}"`}>`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title></head>`,
    '<body style="margin:0;padding:0;background-color:#f4f5f7;">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;"><tr>',
    '<td align="center" style="padding:24px 12px;">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border:1px solid #e3e5e8;border-radius:8px;"><tr>',
    `<td style="padding:24px 28px;font-family:${FONT};">`,
    ...parts,
    '</td></tr></table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Line breaks normalized to \n; other control characters (tab aside) removed. */
function cleanText(text: string): string {
  return wellFormed(text)
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** A plausible language tag, or null: the value lands in an attribute, so it is checked, not trusted. */
function htmlLang(locale: string | null | undefined): string | null {
  if (!locale) return null;
  const tag = locale.trim().replace(/_/g, '-');
  return /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag) ? tag : null;
}
