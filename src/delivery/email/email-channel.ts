/**
 * The `email` channel: sends a notification to the recipient's address over SMTP
 * (SMTP_URL), through one pooled nodemailer transport shared by every delivery.
 *
 * Rules, and why:
 * - One recipient per delivery, `job.recipient.email`, checked to be a single bare
 *   address first: a string such as "a@x, b@y" would otherwise reach two mailboxes.
 *   Missing or malformed = permanent (retrying cannot conjure an address).
 * - Headers: `X-Notify-Delivery-Id` (the same on every attempt, so a receiver dedupes
 *   at-least-once deliveries without relying on Message-ID), `X-Notify-Kind`, and
 *   `Auto-Submitted: auto-generated` + `X-Auto-Response-Suppress: All` so vacation
 *   responders stay quiet (RFC 3834).
 * - Outcomes follow the SMTP reply class (RFC 5321): 4xx = retry, 5xx = permanent,
 *   except 503 (bad sequence: the session's state, not the message) and an
 *   authentication failure (the gateway's credentials, not this delivery: once the
 *   operator fixes them the mail should still go out) = retry. Connection failures,
 *   timeouts and TLS/protocol trouble = retry. An envelope nodemailer refuses before
 *   talking to the server = permanent. Anything unknown = retry, as the contract says.
 * - The whole send (pool queue included) is bounded by `timeoutMs`, besides nodemailer's
 *   connect/greeting/socket timeouts: a server trickling its replies defeats an
 *   inactivity timeout. Aborting closes that pooled connection. An abort or a timeout
 *   may come after the server accepted the mail: retry, and the delivery id dedupes.
 * - Error texts are one line, cut to ~300 characters, and never carry the SMTP password
 *   (removed wherever it appears: a server may echo it back) nor the SMTP user name
 *   (removed where it stands as a word, so a short name cannot shred the text), nor the
 *   recipient's address from our side (personal data in logs). Nor does an invalid
 *   SMTP_URL's error: the URL holds the password.
 */
import nodemailer, { type NodemailerError } from 'nodemailer';
import type { ChannelDriver, DeliveryJob, SendOutcome } from '../channel.js';
import { buildEmailMessage } from './email-message.js';

export interface EmailChannelOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; query keys are nodemailer options. */
  smtpUrl: string;
  /** The From header, e.g. `Notify <notify@example.com>`. */
  from: string;
  timeoutMs: number;
}

const ERROR_CHARS = 300;
/** A single addr-spec; no display name, no list, no comments, no whitespace or controls. */
const BARE_ADDRESS = /^[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]+@[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]+$/u;
/** nodemailer refusing the envelope itself, before any server saw it: the same message always fails so. */
const ENVELOPE_CODES = new Set(['EENVELOPE', 'EMAXRECIPIENTS']);

export function createEmailChannel(options: EmailChannelOptions): ChannelDriver {
  const credentials = credentialsOf(options.smtpUrl);
  let transport: ReturnType<typeof createPool>;
  try {
    transport = createPool(options);
  } catch (error) {
    throw new Error(`invalid SMTP URL: ${errorText(error, credentials)}`);
  }

  return {
    type: 'email',
    async send(job: DeliveryJob, signal: AbortSignal): Promise<SendOutcome> {
      if (job.config.type !== 'email') return { status: 'permanent', error: `not an email channel config (${job.config.type})` };
      const to = job.recipient?.email?.trim() ?? '';
      if (to === '') return { status: 'permanent', error: 'no email address' };
      if (to.length > 254 || !BARE_ADDRESS.test(to)) return { status: 'permanent', error: 'invalid email address' };
      if (signal.aborted) return { status: 'retry', error: 'aborted: the delivery worker is stopping' };

      const content = buildEmailMessage(job.message, { locale: job.recipient?.locale ?? null });
      // One controller for both the worker's stop and our deadline. Not AbortSignal.any: on
      // some Node versions each call leaves a reference on the long-lived worker signal.
      const abort = new AbortController();
      let timedOut = false;
      const stop = () => abort.abort();
      const timer = setTimeout(() => ((timedOut = true), abort.abort()), options.timeoutMs);
      signal.addEventListener('abort', stop, { once: true });
      try {
        await transport.sendMail({
          from: options.from,
          to,
          subject: content.subject,
          text: content.text,
          html: content.html,
          headers: {
            'X-Notify-Delivery-Id': job.deliveryId,
            'X-Notify-Kind': job.message.kind,
            'Auto-Submitted': 'auto-generated',
            'X-Auto-Response-Suppress': 'All',
          },
          priority: job.message.priority === 'high' ? 'high' : job.message.priority === 'low' ? 'low' : 'normal',
          signal: abort.signal,
        });
        return { status: 'sent' };
      } catch (error) {
        if (signal.aborted) return { status: 'retry', error: 'aborted: the delivery worker is stopping' };
        if (timedOut) return { status: 'retry', error: `no reply from the SMTP server within ${options.timeoutMs} ms` };
        return outcomeOfSmtpError(error, credentials);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
      }
    },
    async close() {
      transport.close();
    },
  };
}

function createPool(options: EmailChannelOptions) {
  const { protocol } = new URL(options.smtpUrl);
  if (protocol !== 'smtp:' && protocol !== 'smtps:') throw new Error(`expected smtp: or smtps:, got ${protocol}`);
  return nodemailer.createTransport({
    url: options.smtpUrl,
    pool: true,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    dnsTimeout: options.timeoutMs,
    // Every content here is a string we built: nothing may be read from a path or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

/**
 * Maps a nodemailer error onto an outcome (see the rules above); the credentials are
 * removed from the error text. Exported so the rare codes are tested without provoking them.
 */
export function outcomeOfSmtpError(error: unknown, credentials: SmtpCredentials): SendOutcome {
  const text = errorText(error, credentials);
  const { code, responseCode } = (typeof error === 'object' && error !== null ? error : {}) as NodemailerError;
  if (typeof responseCode === 'number') {
    const permanent = responseCode >= 500 && responseCode <= 599 && responseCode !== 503 && code !== 'EAUTH';
    return { status: permanent ? 'permanent' : 'retry', error: text };
  }
  if (code !== undefined && ENVELOPE_CODES.has(code)) return { status: 'permanent', error: text };
  return { status: 'retry', error: text };
}

/** `CODE (ORIGINAL): message` on one line, secrets removed, then cut. */
function errorText(error: unknown, credentials: SmtpCredentials): string {
  let text: string;
  if (error instanceof Error) {
    const { code, originalCode } = error as NodemailerError;
    const codes = [code, originalCode].filter((c): c is string => typeof c === 'string' && c !== '');
    const prefix = codes.length === 0 ? '' : codes.length === 1 ? `${codes[0]}: ` : `${codes[0]} (${codes.slice(1).join(', ')}): `;
    text = `${prefix}${error.message}`;
  } else {
    text = String(error);
  }
  // Redact before cutting, so a secret straddling the cut cannot leave a readable half.
  text = redact(text, credentials);
  text = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS).replace(/[\uD800-\uDBFF]$/, '')}…` : text;
}

export interface SmtpCredentials {
  /** The password (as written and decoded) and the whole URL: removed wherever they appear. */
  secrets: string[];
  /** The user name (as written and decoded): removed as a whole token only, so a user "u" leaves "Authentication" alone. */
  names: string[];
}

/** What must not appear in an error text, longest first (a password holding the user name is not half-redacted). */
export function credentialsOf(smtpUrl: string): SmtpCredentials {
  const secrets = new Set<string>([smtpUrl]);
  const names = new Set<string>();
  try {
    const { username, password } = new URL(smtpUrl);
    for (const [raw, into] of [[username, names], [password, secrets]] as const) {
      if (raw === '') continue;
      into.add(raw);
      try {
        into.add(decodeURIComponent(raw));
      } catch {
        // A malformed escape: the raw form is all nodemailer could have used.
      }
    }
  } catch {
    // Not a URL: createEmailChannel refuses it, with only the URL itself to redact.
  }
  const ordered = (set: Set<string>) => [...set].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  return { secrets: ordered(secrets), names: ordered(names) };
}

function redact(text: string, { secrets, names }: SmtpCredentials): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}._%+-])${escaped}(?![\\p{L}\\p{N}._%+-])`, 'gu'), '[redacted]');
  }
  return out;
}
