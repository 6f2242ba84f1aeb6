/** Notify limits, metric kind labels and audit settings: documented defaults, lists, refusals. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { auditedKinds } from '../../src/http/notify-audit.js';

describe('limits, metric labels and audit configuration', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      NOTIFY_RATE_PER_KEY: 200,
      NOTIFY_RECIPIENTS_PER_KEY: 20_000,
      NOTIFY_RATE_WINDOW_SECONDS: 10,
      METRIC_KINDS: [],
      METRIC_KIND_LIMIT: 50,
      AUDIT_KINDS: [],
      AUDIT_RETENTION_DAYS: 90,
    });
  });

  it('reads comma-separated kinds and families, and turns limits off with 0', () => {
    const config = parseConfig({
      METRIC_KINDS: ' billing:failed, security ,billing:failed',
      AUDIT_KINDS: 'billing:*,security:login',
      NOTIFY_RATE_PER_KEY: '0',
    });
    expect(config.METRIC_KINDS).toEqual(['billing:failed', 'security']);
    expect(config.AUDIT_KINDS).toEqual(['billing:*', 'security:login']);
    expect(config.NOTIFY_RATE_PER_KEY).toBe(0);
    expect(Object.isFrozen(config.AUDIT_KINDS)).toBe(true);
    const audited = auditedKinds(config.AUDIT_KINDS);
    expect(['billing:failed', 'billing:refund:partial', 'security:login'].map(audited)).toEqual([true, true, true]);
    expect(['billing', 'billingx:failed', 'security:logout', 'task:done'].map(audited)).toEqual([false, false, false, false]);
  });

  it('refuses malformed lists and out-of-range values', () => {
    for (const env of [
      { METRIC_KINDS: 'Billing' },
      { METRIC_KINDS: 'billing:*' },
      { AUDIT_KINDS: '*' },
      { AUDIT_KINDS: 'billing:*:x' },
      { NOTIFY_RATE_WINDOW_SECONDS: '0' },
      { METRIC_KIND_LIMIT: '0' },
      { NOTIFY_RATE_PER_KEY: '-1' },
    ]) {
      expect(() => parseConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
  });
});
