/** Standard Webhooks signing: a published vector, our secrets, and what is refused. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, isWebhookSecret, signWebhook } from '../../../src/delivery/webhook/standard-webhooks.js';

describe('signWebhook', () => {
  it('matches the reference vector', () => {
    // From the Standard Webhooks reference library, test "sign function works":
    // https://github.com/standard-webhooks/standard-webhooks/blob/main/libraries/javascript/src/webhook.test.ts
    // (the same vector is used by the other language libraries in that repository).
    const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('round trips: an HMAC recomputed from the decoded key matches, over UTF-8 bytes', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ title: 'Größe 🚚', n: 1 });
    const signature = signWebhook(secret, 'd-1', 1_700_000_000, body);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(Buffer.from(`d-1.1700000000.${body}`, 'utf8')).digest('base64');
    expect(signature).toBe(`v1,${expected}`);
  });

  it('covers the id, the timestamp, the body and the key', () => {
    const secret = generateWebhookSecret();
    const base = signWebhook(secret, 'a', 1, '{}');
    expect(signWebhook(secret, 'a', 1, '{}')).toBe(base);
    expect(signWebhook(secret, 'b', 1, '{}')).not.toBe(base);
    expect(signWebhook(secret, 'a', 2, '{}')).not.toBe(base);
    expect(signWebhook(secret, 'a', 1, '{ }')).not.toBe(base);
    expect(signWebhook(generateWebhookSecret(), 'a', 1, '{}')).not.toBe(base);
  });

  it('refuses ids that could blur the signed fields, bad timestamps and bad secrets, without echoing the secret', () => {
    const secret = generateWebhookSecret();
    expect(() => signWebhook(secret, 'a.b', 1, '{}')).toThrow(TypeError);
    expect(() => signWebhook(secret, 'a b', 1, '{}')).toThrow(TypeError);
    expect(() => signWebhook(secret, '', 1, '{}')).toThrow(TypeError);
    expect(() => signWebhook(secret, 'a', 1.5, '{}')).toThrow(TypeError);
    expect(() => signWebhook(secret, 'a', -1, '{}')).toThrow(TypeError);
    const bad = 'whsec_tooShort';
    expect(() => signWebhook(bad, 'a', 1, '{}')).toThrow(/not a Standard Webhooks secret/);
    try {
      signWebhook(bad, 'a', 1, '{}');
    } catch (error) {
      expect(String(error)).not.toContain('tooShort');
    }
  });
});

describe('secrets', () => {
  it('generates whsec_ + base64 of 24 fresh random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(a).not.toBe(b);
    expect(isWebhookSecret(a)).toBe(true);
  });

  it('accepts 24 to 64 key bytes in canonical base64, and nothing else', () => {
    const of = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
    expect(isWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBe(true);
    expect(isWebhookSecret(of(24))).toBe(true);
    expect(isWebhookSecret(of(25))).toBe(true);
    expect(isWebhookSecret(of(64))).toBe(true);
    expect(isWebhookSecret(of(23))).toBe(false);
    expect(isWebhookSecret(of(65))).toBe(false);
    expect(isWebhookSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBe(false); // no prefix
    expect(isWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w')).toBe(false); // base64url, not base64
    expect(isWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS')).toBe(false); // truncated
    expect(isWebhookSecret(`${of(24)} `)).toBe(false);
    // 25 bytes leave 4 unused bits in the character before "=="; Buffer decodes them anyway, we refuse.
    const canonical = Buffer.alloc(25, 0).toString('base64');
    expect(isWebhookSecret(`whsec_${canonical}`)).toBe(true);
    expect(isWebhookSecret(`whsec_${canonical.slice(0, -3)}B==`)).toBe(false);
    expect(isWebhookSecret(undefined)).toBe(false);
    expect(isWebhookSecret(42)).toBe(false);
  });
});
