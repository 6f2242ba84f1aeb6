/**
 * Who gets what, through which channel: the precedence of policies, as one pure function.
 *
 * For one recipient and channel, first match wins:
 * 1. a `critical` kind, or `priority: "urgent"` → delivered at once (no opt-out, no digest);
 * 2. the user's kind rules (most specific pattern that names the channel);
 * 3. the user's channel switches;
 * 4. the tenant's default kind rules, then its channel switches;
 * 5. on: the channel was asked for, by the POST's `channels` or, when it names none, by
 *    the kind's default channels (PUT /api/kinds/:kind).
 * A digest window comes from the same levels (user kind rules → tenant kind rules →
 * kind default); it applies to external channels only: in-app is live or nothing.
 * Endpoint channels (webhook, wecom) have no user: levels 2 and 3 do not apply to them.
 */
import type { Priority } from '../client/types.js';
import { IN_APP, matchingRules, type KindDefaults, type KindRule, type PreferenceDocument } from './preferences.js';

export interface PolicyInputs {
  kind: string;
  /** `urgent` bypasses preferences (rule 1). */
  priority: Priority | 'urgent';
  kindDefaults: KindDefaults | null;
  tenant: PreferenceDocument | null;
  /** null for endpoint channels, or a user without preferences. */
  user: PreferenceDocument | null;
}

/** A channel as preferences name it: `in_app`, or a tenant channel's name and type. */
export interface ChannelRef {
  name: string;
  type: string;
}

export const IN_APP_CHANNEL: ChannelRef = { name: IN_APP, type: IN_APP };

export type DecisionSource = 'critical' | 'user_kind' | 'user_channel' | 'tenant_kind' | 'tenant_channel' | 'default';

export interface Decision {
  enabled: boolean;
  /** Minutes of the digest window this delivery joins; null: send it on its own. */
  digestMinutes: number | null;
  source: DecisionSource;
}

export function bypassesPolicies(inputs: Pick<PolicyInputs, 'priority' | 'kindDefaults'>): boolean {
  return inputs.priority === 'urgent' || inputs.kindDefaults?.critical === true;
}

export function decide(inputs: PolicyInputs, channel: ChannelRef): Decision {
  if (bypassesPolicies(inputs)) return { enabled: true, digestMinutes: null, source: 'critical' };
  const userRules = matchingRules(inputs.user, inputs.kind);
  const tenantRules = matchingRules(inputs.tenant, inputs.kind);
  const { enabled, source } = switchFor(inputs, channel, userRules, tenantRules);
  const digest = channel.name === IN_APP || !enabled ? null : digestFor(inputs, userRules, tenantRules);
  return { enabled, digestMinutes: digest, source };
}

function switchFor(inputs: PolicyInputs, channel: ChannelRef, userRules: KindRule[], tenantRules: KindRule[]): { enabled: boolean; source: DecisionSource } {
  const fromRules = (rules: KindRule[]) => {
    for (const rule of rules) {
      const value = switchOf(rule, channel);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const levels: [DecisionSource, () => boolean | undefined][] = [
    ['user_kind', () => fromRules(userRules)],
    ['user_channel', () => switchOf(inputs.user?.channels, channel)],
    ['tenant_kind', () => fromRules(tenantRules)],
    ['tenant_channel', () => switchOf(inputs.tenant?.channels, channel)],
  ];
  for (const [source, read] of levels) {
    const value = read();
    if (value !== undefined) return { enabled: value, source };
  }
  return { enabled: true, source: 'default' };
}

/** A channel's name is more specific than its type; only own boolean entries count (not `digestMinutes`). */
function switchOf(switches: Record<string, boolean | number> | undefined, channel: ChannelRef): boolean | undefined {
  if (!switches) return undefined;
  for (const key of [channel.name, channel.type]) {
    const value = Object.hasOwn(switches, key) ? switches[key] : undefined;
    if (typeof value === 'boolean') return value;
  }
  return undefined;
}

function digestFor(inputs: PolicyInputs, userRules: KindRule[], tenantRules: KindRule[]): number | null {
  for (const rule of [...userRules, ...tenantRules]) {
    const minutes = rule.digestMinutes;
    if (typeof minutes === 'number') return minutes > 0 ? minutes : null;
  }
  const minutes = inputs.kindDefaults?.digestMinutes;
  return minutes !== undefined && minutes > 0 ? minutes : null;
}

/** Everything `decide` needs for one tenant and kind and some of the tenant's users. */
export interface PolicySnapshot {
  kindDefaults: KindDefaults | null;
  tenant: PreferenceDocument | null;
  /** Users without a preference document are absent. */
  users: ReadonlyMap<string, PreferenceDocument>;
}

/** Where policies are read from on the hot path (policy-cache.ts: no query when cached). */
export interface PolicySource {
  load(tenantId: string, kind: string, userIds: readonly string[]): Promise<PolicySnapshot>;
}

export function inputsFor(snapshot: PolicySnapshot, kind: string, priority: Priority, userId: string | null): PolicyInputs {
  return {
    kind,
    priority,
    kindDefaults: snapshot.kindDefaults,
    tenant: snapshot.tenant,
    user: userId === null ? null : (snapshot.users.get(userId) ?? null),
  };
}
