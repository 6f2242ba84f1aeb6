/**
 * Builds the body a WeCom group robot accepts (`POST …/cgi-bin/webhook/send?key=…`) from
 * an ExternalMessage. Pure functions only, so every rule here is unit-tested without a
 * robot.
 *
 * Rules, and why:
 * - Markdown when the body carries markdown formatting (a small, deliberate set: `**`,
 *   `#` headings, `[x](y)` links, `>` quotes, backticks, `<font`); text otherwise. A
 *   title or a link alone never makes a message markdown: they are ours, not formatting.
 * - Mentions: text puts user ids in `mentioned_list` and mobiles in
 *   `mentioned_mobile_list` ("@all" goes in `mentioned_list`, once is enough). Markdown
 *   can only mention a user id, as `<@userid>` inside the content, appended on its own
 *   line. Markdown has no way to mention a mobile number or everyone, so a message with
 *   mobiles or `all` is sent as TEXT even when its body is markdown: a mention is the
 *   reason such a message exists, formatting is not, and markdown source still reads
 *   well as plain text. (Sending markdown plus a second text message for the mention
 *   was rejected: one delivery would become two robot sends, using two of the robot's
 *   20 per minute, and a retry after the first succeeded would repeat it.)
 * - Content is the title, then the body when present, then the link, one per line. It
 *   is cut to the robot's byte limit (text 2048, markdown 4096, UTF-8) on a character
 *   boundary with "…" inside the limit. When it must be cut, the body is what gets cut:
 *   the link and the `<@userid>` mentions are kept whole, because they are what the
 *   reader acts on.
 * - Cuts fall between grapheme clusters (Intl.Segmenter), so neither a UTF-8 sequence
 *   nor a surrogate pair nor a composed emoji is ever split. Lone surrogates in the input
 *   become U+FFFD first: they are not valid UTF-8 at all.
 */
import type { ExternalMessage, Mentions } from '../channel.js';

export const TEXT_CONTENT_LIMIT_BYTES = 2048;
export const MARKDOWN_CONTENT_LIMIT_BYTES = 4096;

export interface WecomTextBody {
  msgtype: 'text';
  text: { content: string; mentioned_list?: string[]; mentioned_mobile_list?: string[] };
}
export interface WecomMarkdownBody {
  msgtype: 'markdown';
  markdown: { content: string };
}
export type WecomRequestBody = WecomTextBody | WecomMarkdownBody;

export type WecomMessageInput = Pick<ExternalMessage, 'title' | 'body' | 'link' | 'mentions'>;

const ELLIPSIS = '…';
const ELLIPSIS_BYTES = Buffer.byteLength(ELLIPSIS);

const MARKDOWN_PATTERNS: readonly RegExp[] = [
  /\*\*[^*\n]+\*\*/, // bold
  /^#{1,6}[ \t]+\S/m, // heading
  /\[[^\]\n]+\]\([^)\s]+\)/, // link
  /^>/m, // quote
  /`[^`\n]+`/, // inline code
  /^```/m, // fenced code
  /<font\b/i, // WeCom's coloured text
];

/** True when `text` uses one of the markdown constructs listed in the header. */
export function hasMarkdown(text: string): boolean {
  return MARKDOWN_PATTERNS.some((pattern) => pattern.test(text));
}

/** Markdown only when the body is markdown and no mention needs the text message's fields. */
export function chooseMsgtype(message: WecomMessageInput): 'text' | 'markdown' {
  if (message.body === null || !hasMarkdown(message.body)) return 'text';
  const mentions = normalizedMentions(message.mentions);
  return mentions.mobiles.length > 0 || mentions.all ? 'text' : 'markdown';
}

export function buildWecomBody(message: WecomMessageInput): WecomRequestBody {
  const mentions = normalizedMentions(message.mentions);
  const head = joinLines([message.title, message.body ?? '']);
  if (chooseMsgtype(message) === 'markdown') {
    const tail = joinLines([message.link === null ? '' : markdownLink(message.link), mentions.userIds.map((id) => `<@${id}>`).join(' ')]);
    return { msgtype: 'markdown', markdown: { content: fitContent(head, tail, MARKDOWN_CONTENT_LIMIT_BYTES) } };
  }
  const text: WecomTextBody['text'] = { content: fitContent(head, message.link ?? '', TEXT_CONTENT_LIMIT_BYTES) };
  const mentionedList = mentions.all ? [...mentions.userIds, '@all'] : mentions.userIds;
  if (mentionedList.length > 0) text.mentioned_list = mentionedList;
  if (mentions.mobiles.length > 0) text.mentioned_mobile_list = mentions.mobiles;
  return { msgtype: 'text', text };
}

/**
 * `head`, a newline and `tail` within `maxBytes`: the head is cut when needed, the tail is
 * kept whole unless it would take more than half the room (a pathological link or
 * mention list), in which case the whole content is cut like any text.
 */
export function fitContent(head: string, tail: string, maxBytes: number): string {
  const first = wellFormed(head);
  const last = wellFormed(tail);
  const whole = joinLines([first, last]);
  if (Buffer.byteLength(whole) <= maxBytes) return whole;
  const tailBytes = Buffer.byteLength(last) + 1; // with its newline
  if (last === '' || tailBytes > maxBytes / 2) return truncateUtf8(whole, maxBytes);
  return joinLines([truncateUtf8(first, maxBytes - tailBytes), last]);
}

/**
 * `text` as at most `maxBytes` of UTF-8: unchanged when it fits, else cut between grapheme
 * clusters with "…" appended inside the limit.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  const clean = wellFormed(text);
  if (Buffer.byteLength(clean) <= maxBytes) return clean;
  if (maxBytes < ELLIPSIS_BYTES) return '';
  const budget = maxBytes - ELLIPSIS_BYTES;
  // Every UTF-16 unit is at least one byte, so this prefix holds more than `budget`
  // bytes: the loop below always stops inside it, before its possibly cut last cluster.
  // Segmenting only the prefix keeps a huge body cheap.
  const prefix = clean.slice(0, maxBytes);
  let used = 0;
  let out = '';
  for (const { segment } of graphemes.segment(prefix)) {
    const size = Buffer.byteLength(segment);
    if (used + size > budget) break;
    used += size;
    out += segment;
  }
  return out + ELLIPSIS;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

function joinLines(parts: string[]): string {
  return parts.filter((part) => part !== '').join('\n');
}

/** `[url](url)`, with the characters that would end the target early percent-encoded. */
function markdownLink(url: string): string {
  const safe = url.replace(/[()[\]\s]/g, (c) => (c.charCodeAt(0) < 0x80 ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c)));
  return `[${safe}](${safe})`;
}

function normalizedMentions(mentions: Mentions | null): Mentions {
  if (mentions === null) return { userIds: [], mobiles: [], all: false };
  const clean = (list: string[]) => [...new Set(list.map((s) => s.trim()).filter((s) => s !== '' && s !== '@all'))];
  // "@all" inside a list is how WeCom spells `all`; accept it either way.
  const all = mentions.all || mentions.userIds.includes('@all') || mentions.mobiles.includes('@all');
  return { userIds: clean(mentions.userIds), mobiles: clean(mentions.mobiles), all };
}
