/** The external delivery settings: documented defaults, and combinations refused at start. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';

const refuse = (env: Record<string, string>, message: RegExp) => {
  expect(() => parseConfig(env)).toThrow(ConfigError);
  expect(() => parseConfig(env)).toThrow(message);
};

describe('delivery configuration', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      DELIVERY_WORKER: true,
      DELIVERY_CONCURRENCY: 32,
      DELIVERY_CLAIM_BATCH: 50,
      DELIVERY_POLL_MS: 500,
      DELIVERY_MAX_ATTEMPTS: 10,
      DELIVERY_BACKOFF_BASE_MS: 2000,
      DELIVERY_BACKOFF_CAP_MS: 3_600_000,
      DELIVERY_VISIBILITY_TIMEOUT_MS: 120_000,
      ALLOW_PRIVATE_WEBHOOKS: false,
      WEBHOOK_TIMEOUT_MS: 5000,
      WECOM_ROBOT_LIMIT: 20,
      WECOM_ROBOT_WINDOW_MS: 61_000,
      SMTP_TIMEOUT_MS: 10_000,
    });
  });

  it('needs EMAIL_FROM with SMTP_URL, and all three VAPID settings or none', () => {
    refuse({ SMTP_URL: 'smtp://mail.example.com:587' }, /EMAIL_FROM/);
    refuse({ SMTP_URL: 'http://mail.example.com' }, /SMTP_URL/);
    refuse({ VAPID_SUBJECT: 'mailto:ops@example.com' }, /VAPID/);
    expect(parseConfig({ SMTP_URL: 'smtp://mail.example.com:587', EMAIL_FROM: 'Notify <n@example.com>' }).SMTP_URL).toBe(
      'smtp://mail.example.com:587',
    );
  });

  it('refuses a visibility timeout a running send could outlast', () => {
    refuse({ DELIVERY_VISIBILITY_TIMEOUT_MS: '4000', WEBHOOK_TIMEOUT_MS: '5000' }, /DELIVERY_VISIBILITY_TIMEOUT_MS/);
    refuse(
      { DELIVERY_VISIBILITY_TIMEOUT_MS: '8000', SMTP_URL: 'smtp://m.example.com', EMAIL_FROM: 'n@example.com', SMTP_TIMEOUT_MS: '9000' },
      /SMTP_TIMEOUT_MS/,
    );
    expect(parseConfig({ DELIVERY_VISIBILITY_TIMEOUT_MS: '8000', SMTP_TIMEOUT_MS: '9000' }).DELIVERY_VISIBILITY_TIMEOUT_MS).toBe(8000);
  });
});
