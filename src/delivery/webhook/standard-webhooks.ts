/**
 * Standard Webhooks symmetric signing (https://www.standardwebhooks.com/, spec 1.0.0).
 *
 * - A secret is `whsec_` + canonical base64 of 24–64 random key bytes (the spec's bounds:
 *   at least 192 bits, at most 512); the HMAC key is the decoded bytes, never the text.
 * - The signature covers `${id}.${timestamp}.${body}`, so an id or timestamp holding a `.`
 *   could shift bytes between the fields; both are refused rather than signed.
 * - Signing is pure and synchronous: the caller picks the timestamp (unix seconds) so the
 *   header and the signed content cannot disagree.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new secret: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(MIN_KEY_BYTES).toString('base64');
}

/** True for `whsec_` + canonical base64 of 24–64 bytes. */
export function isWebhookSecret(value: unknown): value is string {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return false;
  const encoded = value.slice(PREFIX.length);
  if (!BASE64.test(encoded)) return false;
  const key = Buffer.from(encoded, 'base64');
  // Canonical only (no stray padding bits): what a receiver decodes is exactly what we sign with.
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES && key.toString('base64') === encoded;
}

/** The `webhook-signature` header value, `v1,<base64 HMAC-SHA256>`. Throws on bad input (never echoing the secret). */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (!isWebhookSecret(secret)) throw new TypeError('not a Standard Webhooks secret (whsec_ + base64 of 24-64 bytes)');
  if (id === '' || /[.\s]/.test(id)) throw new TypeError('a webhook id must be non-empty, without "." or whitespace');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new TypeError('a webhook timestamp is whole unix seconds');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}
