/** The precedence of policies (src/policy/policy.ts), rule by rule, as tables. */
import { describe, expect, it } from 'vitest';
import { decide, IN_APP_CHANNEL, type ChannelRef, type Decision, type PolicyInputs } from '../../src/policy/policy.js';
import {
  kindDefaultsSchema,
  kindMatches,
  matchingRules,
  preferenceDocumentSchema,
  type KindDefaults,
  type PreferenceDocument,
} from '../../src/policy/preferences.js';

const EMAIL: ChannelRef = { name: 'mail', type: 'email' };
const BILLING_MAIL: ChannelRef = { name: 'billing-mail', type: 'email' };
const ROBOT: ChannelRef = { name: 'sales-group', type: 'wecom' };

interface Row {
  name: string;
  kind?: string;
  priority?: PolicyInputs['priority'];
  kindDefaults?: KindDefaults;
  tenant?: PreferenceDocument;
  user?: PreferenceDocument;
  channel?: ChannelRef;
  expected: Partial<Decision>;
}

function run(row: Row): Decision {
  return decide(
    {
      kind: row.kind ?? 'task:done',
      priority: row.priority ?? 'medium',
      kindDefaults: row.kindDefaults ?? null,
      tenant: row.tenant ?? null,
      user: row.user ?? null,
    },
    row.channel ?? EMAIL,
  );
}

const table = (rows: Row[]) => it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
  expect(run(row)).toMatchObject(row.expected);
});

describe('rule 1: a critical kind or an urgent notification bypasses opt-outs and digests', () => {
  const optedOut: PreferenceDocument = { channels: { email: false, in_app: false }, kinds: { 'task:*': { email: false, in_app: false, digestMinutes: 10 } } };
  table([
    { name: 'critical kind beats the user opting out', kindDefaults: { critical: true }, user: optedOut, expected: { enabled: true, source: 'critical', digestMinutes: null } },
    { name: 'critical kind beats the tenant opting out', kindDefaults: { critical: true }, tenant: optedOut, expected: { enabled: true, source: 'critical' } },
    { name: 'critical kind has no digest, even its own default', kindDefaults: { critical: true, digestMinutes: 5 }, expected: { enabled: true, digestMinutes: null } },
    { name: 'urgent beats the user opting out', priority: 'urgent', user: optedOut, expected: { enabled: true, source: 'critical', digestMinutes: null } },
    { name: 'urgent beats in-app opt-out', priority: 'urgent', user: optedOut, channel: IN_APP_CHANNEL, expected: { enabled: true, source: 'critical' } },
    { name: 'urgent skips the kind default digest', priority: 'urgent', kindDefaults: { digestMinutes: 5 }, expected: { digestMinutes: null } },
    { name: 'critical: false changes nothing', kindDefaults: { critical: false }, user: optedOut, expected: { enabled: false, source: 'user_kind' } },
    { name: 'high priority is not urgent', priority: 'high', user: optedOut, expected: { enabled: false, source: 'user_kind' } },
  ]);
});

describe('rules 2–5: user kind → user channel → tenant kind → tenant channel → default', () => {
  table([
    {
      name: 'user kind rule beats user channel switch',
      user: { channels: { email: false }, kinds: { 'task:*': { email: true } } },
      expected: { enabled: true, source: 'user_kind' },
    },
    {
      name: 'user channel switch beats tenant kind rule',
      user: { channels: { email: true } },
      tenant: { kinds: { 'task:*': { email: false } } },
      expected: { enabled: true, source: 'user_channel' },
    },
    {
      name: 'user channel switch off beats tenant kind rule on',
      user: { channels: { email: false } },
      tenant: { kinds: { 'task:done': { email: true } } },
      expected: { enabled: false, source: 'user_channel' },
    },
    {
      name: 'tenant kind rule beats tenant channel switch',
      tenant: { channels: { email: false }, kinds: { 'task:*': { email: true } } },
      expected: { enabled: true, source: 'tenant_kind' },
    },
    { name: 'tenant channel switch beats the default', tenant: { channels: { email: false } }, expected: { enabled: false, source: 'tenant_channel' } },
    { name: 'nothing said: on by default', expected: { enabled: true, source: 'default', digestMinutes: null } },
    { name: 'empty documents: on by default', user: {}, tenant: { channels: {}, kinds: {} }, expected: { enabled: true, source: 'default' } },
    {
      name: 'a user rule for another kind does not apply',
      kind: 'billing:failed',
      user: { kinds: { 'task:*': { email: false } } },
      expected: { enabled: true, source: 'default' },
    },
    {
      name: 'a user rule that names another channel falls through to the user channel switch',
      user: { channels: { email: false }, kinds: { 'task:*': { in_app: true } } },
      expected: { enabled: false, source: 'user_channel' },
    },
    {
      name: 'user documents do not apply to endpoint channels (the caller passes user null)',
      channel: ROBOT,
      tenant: { channels: { wecom: false } },
      expected: { enabled: false, source: 'tenant_channel' },
    },
    { name: 'in-app opt-out by channel switch', channel: IN_APP_CHANNEL, user: { channels: { in_app: false } }, expected: { enabled: false, source: 'user_channel' } },
    {
      name: 'in-app opt-out by kind rule',
      channel: IN_APP_CHANNEL,
      kind: 'marketing:promo',
      user: { kinds: { 'marketing:*': { in_app: false } } },
      expected: { enabled: false, source: 'user_kind' },
    },
  ]);
});

describe('specificity: exact kind beats a pattern, a longer pattern beats a shorter, a name beats a type', () => {
  table([
    {
      name: 'exact kind beats a pattern',
      user: { kinds: { 'task:*': { email: false }, 'task:done': { email: true } } },
      expected: { enabled: true, source: 'user_kind' },
    },
    {
      name: 'exact kind beats a longer pattern',
      kind: 'task:done.nightly',
      user: { kinds: { 'task:done.*': { email: true }, 'task:done.nightly': { email: false } } },
      expected: { enabled: false },
    },
    {
      name: 'more literal characters win among patterns',
      kind: 'task:done.nightly',
      user: { kinds: { '*': { email: false }, 'task:*': { email: false }, 'task:done*': { email: true } } },
      expected: { enabled: true },
    },
    {
      name: 'a less specific pattern loses, whatever the key order',
      kind: 'task:done.nightly',
      user: { kinds: { 'task:done*': { email: false }, 'task:*': { email: true } } },
      expected: { enabled: false },
    },
    {
      name: 'channel name beats channel type in a switch',
      channel: BILLING_MAIL,
      user: { channels: { email: false, 'billing-mail': true } },
      expected: { enabled: true, source: 'user_channel' },
    },
    {
      name: 'channel type applies to every channel of that type',
      channel: BILLING_MAIL,
      user: { channels: { email: false, mail: true } },
      expected: { enabled: false, source: 'user_channel' },
    },
    {
      name: 'channel name beats channel type in a kind rule',
      channel: BILLING_MAIL,
      user: { kinds: { 'task:*': { email: true, 'billing-mail': false } } },
      expected: { enabled: false, source: 'user_kind' },
    },
    {
      name: 'a name in a less specific pattern loses to the type in a more specific one',
      channel: BILLING_MAIL,
      user: { kinds: { 'task:*': { 'billing-mail': true }, 'task:done': { email: false } } },
      expected: { enabled: false, source: 'user_kind' },
    },
  ]);
});

describe('cascading: a pattern that does not name the channel falls through to the next', () => {
  table([
    {
      name: 'the exact kind says nothing about email: the pattern decides',
      user: { kinds: { 'task:done': { in_app: false }, 'task:*': { email: false } } },
      expected: { enabled: false, source: 'user_kind' },
    },
    {
      name: 'through two patterns to the catch-all',
      kind: 'task:done.nightly',
      user: { kinds: { 'task:done*': { digestMinutes: 5 }, 'task:*': { in_app: true }, '*': { email: false } } },
      expected: { enabled: false, source: 'user_kind', digestMinutes: null },
    },
    {
      name: 'no user pattern names it: the tenant patterns are next',
      user: { kinds: { 'task:*': { in_app: false } } },
      tenant: { kinds: { 'task:done': { in_app: true }, '*': { email: false } } },
      expected: { enabled: false, source: 'tenant_kind' },
    },
    {
      name: 'digestMinutes is not a switch: a rule with only a digest does not decide on/off',
      user: { channels: { email: false }, kinds: { 'task:*': { digestMinutes: 10 } } },
      expected: { enabled: false, source: 'user_channel', digestMinutes: null },
    },
  ]);
});

describe('digest window: user kind → tenant kind → kind default', () => {
  table([
    { name: 'kind default', kindDefaults: { digestMinutes: 30 }, expected: { enabled: true, digestMinutes: 30 } },
    {
      name: 'tenant kind rule beats the kind default',
      kindDefaults: { digestMinutes: 30 },
      tenant: { kinds: { 'task:*': { digestMinutes: 15 } } },
      expected: { digestMinutes: 15 },
    },
    {
      name: 'user kind rule beats the tenant kind rule',
      kindDefaults: { digestMinutes: 30 },
      tenant: { kinds: { 'task:*': { digestMinutes: 15 } } },
      user: { kinds: { 'task:*': { digestMinutes: 5 } } },
      expected: { digestMinutes: 5 },
    },
    {
      name: 'a more specific user pattern wins the digest too',
      user: { kinds: { '*': { digestMinutes: 60 }, 'task:*': { digestMinutes: 2 } } },
      expected: { digestMinutes: 2 },
    },
    {
      name: 'user 0 turns off a tenant and kind digest',
      kindDefaults: { digestMinutes: 30 },
      tenant: { kinds: { 'task:*': { digestMinutes: 15 } } },
      user: { kinds: { 'task:done': { digestMinutes: 0 } } },
      expected: { enabled: true, digestMinutes: null },
    },
    {
      name: 'tenant 0 turns off the kind default digest',
      kindDefaults: { digestMinutes: 30 },
      tenant: { kinds: { 'task:*': { digestMinutes: 0 } } },
      expected: { digestMinutes: null },
    },
    {
      name: 'a user rule without digestMinutes falls through to the tenant rule',
      tenant: { kinds: { 'task:*': { digestMinutes: 15 } } },
      user: { kinds: { 'task:done': { email: true } } },
      expected: { enabled: true, source: 'user_kind', digestMinutes: 15 },
    },
    {
      name: 'in-app is never digested',
      channel: IN_APP_CHANNEL,
      kindDefaults: { digestMinutes: 30 },
      user: { kinds: { 'task:*': { digestMinutes: 5 } } },
      expected: { enabled: true, digestMinutes: null },
    },
    {
      name: 'a disabled channel has no digest',
      kindDefaults: { digestMinutes: 30 },
      user: { kinds: { 'task:*': { email: false, digestMinutes: 5 } } },
      expected: { enabled: false, digestMinutes: null },
    },
    { name: 'fractions of a minute are kept', kindDefaults: { digestMinutes: 0.5 }, expected: { digestMinutes: 0.5 } },
    { name: 'endpoint channels get the tenant digest', channel: ROBOT, tenant: { kinds: { 'task:*': { digestMinutes: 3 } } }, expected: { digestMinutes: 3 } },
  ]);
});

describe('kindMatches', () => {
  it.each([
    ['task:done', 'task:done', true],
    ['task:done', 'task:done2', false],
    ['task:done', 'task:don', false],
    ['*', 'anything:at.all', true],
    ['task:*', 'task:', true],
    ['task:*', 'task:done', true],
    ['task:*', 'tasks:done', false],
    ['task:*', 'task', false],
    ['*:done', 'build:done', true],
    ['*:done', 'build:done.late', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['a*a', 'aba', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'a-b-b-c', true],
    ['a**b', 'ab', true],
    ['task.*.done', 'task.x.done', true],
    ['task.*.done', 'task.done', false],
  ])('%s ~ %s → %s', (pattern, kind, expected) => {
    expect(kindMatches(pattern, kind)).toBe(expected);
  });

  it('matchingRules orders the matches most specific first and ignores the rest', () => {
    const document: PreferenceDocument = { kinds: { '*': { a: true }, 'task:*': { b: true }, 'task:done': { c: true }, 'other:*': { d: true }, 'task:d*': { e: true } } };
    expect(matchingRules(document, 'task:done')).toEqual([{ c: true }, { e: true }, { b: true }, { a: true }]);
    expect(matchingRules(null, 'task:done')).toEqual([]);
    expect(matchingRules({ channels: { email: true } }, 'task:done')).toEqual([]);
  });

  it('a kind named like an Object property matches only itself', () => {
    const document: PreferenceDocument = { kinds: { 'task:*': { email: false } } };
    expect(matchingRules(document, 'constructor')).toEqual([]);
    expect(decide({ kind: 'constructor', priority: 'medium', kindDefaults: null, tenant: null, user: document }, { name: 'constructor', type: 'webhook' })).toMatchObject({
      enabled: true,
      source: 'default',
    });
  });
});

describe('schemas', () => {
  const issuesOf = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
    (result.error?.issues ?? []).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

  it('accepts the documented document shape', () => {
    const document = { channels: { email: false, in_app: true, 'sales-group': true }, kinds: { 'task:*': { email: true, digestMinutes: 10 }, 'marketing:*': { in_app: false } } };
    expect(preferenceDocumentSchema.parse(document)).toEqual(document);
    expect(preferenceDocumentSchema.parse({})).toEqual({});
  });

  it.each([
    ['a bad kind pattern (upper case)', { kinds: { 'Task:*': { email: true } } }, 'kinds.Task:*'],
    ['a bad kind pattern (space)', { kinds: { 'task done': { email: true } } }, 'kinds.task done'],
    ['a bad kind pattern (too long)', { kinds: { [`a${'b'.repeat(64)}`]: { email: true } } }, `kinds.a${'b'.repeat(64)}`],
    ['a non-boolean channel switch', { channels: { email: 'no' } }, 'channels.email'],
    ['a non-boolean switch in a kind rule', { kinds: { 'task:*': { email: 1 } } }, 'kinds.task:*.email'],
    ['a bad channel key', { channels: { '-email': true } }, 'channels.-email'],
    ['a bad channel key in a kind rule', { kinds: { 'task:*': { 'e mail': true } } }, 'kinds.task:*.e mail'],
    ['digestMinutes over a day', { kinds: { 'task:*': { digestMinutes: 24 * 60 + 1 } } }, 'kinds.task:*.digestMinutes'],
    ['digestMinutes negative', { kinds: { 'task:*': { digestMinutes: -1 } } }, 'kinds.task:*.digestMinutes'],
    ['digestMinutes under a second', { kinds: { 'task:*': { digestMinutes: 0.001 } } }, 'kinds.task:*.digestMinutes'],
    ['digestMinutes not a number', { kinds: { 'task:*': { digestMinutes: true } } }, 'kinds.task:*.digestMinutes'],
    ['an unknown top-level key', { channel: { email: true } }, ''],
  ])('refuses %s, naming where', (_name, document, path) => {
    const result = preferenceDocumentSchema.safeParse(document);
    expect(result.success).toBe(false);
    const issues = issuesOf(result);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.every((i) => i.message.length > 0)).toBe(true);
  });

  it('says what a kind rule value should be', () => {
    const issues = issuesOf(preferenceDocumentSchema.safeParse({ kinds: { 'task:*': { email: 'yes', digestMinutes: 2000 } } }));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'kinds.task:*.email', message: 'true or false' },
        { path: 'kinds.task:*.digestMinutes', message: expect.stringMatching(/1440/) },
      ]),
    );
  });

  it('bounds the number of patterns and channels', () => {
    const kinds = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}:*`, { email: true }]));
    expect(preferenceDocumentSchema.safeParse({ kinds }).success).toBe(false);
    const channels = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, true]));
    expect(preferenceDocumentSchema.safeParse({ channels }).success).toBe(false);
    // A kind rule holds up to 50 channels plus digestMinutes.
    const rule = Object.fromEntries(Array.from({ length: 52 }, (_, i) => [`c${i}`, true]));
    expect(preferenceDocumentSchema.safeParse({ kinds: { 'task:*': rule } }).success).toBe(false);
  });

  it('kind defaults: shape and refusals', () => {
    expect(kindDefaultsSchema.parse({ critical: true, channels: ['mail'], digestMinutes: 10, external: 'full' })).toEqual({
      critical: true,
      channels: ['mail'],
      digestMinutes: 10,
      external: 'full',
    });
    for (const bad of [{ critical: 'yes' }, { digestMinutes: 5000 }, { external: 'everything' }, { channels: ['bad name'] }, { other: 1 }]) {
      expect(kindDefaultsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
