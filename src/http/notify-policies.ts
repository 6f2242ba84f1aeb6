/**
 * What policies change about a notification before it is written:
 * - the kind's defaults fill in what the POST left out: its channels (`channels`) and the
 *   external payload mode (`external`);
 * - recipients who turned in-app off for the kind get their inbox row stored muted
 *   (kept for audit, never pushed, not listed by default, not counted).
 * Read through the policy cache: no query per notification once the tenant, kind and
 * users are cached. Urgent notifications and critical kinds are never muted.
 */
import { decide, inputsFor, IN_APP_CHANNEL, type PolicySource } from '../policy/policy.js';
import type { NotificationInput } from '../outbox/notification-writer.js';

export async function withPolicies(policies: PolicySource | undefined, input: NotificationInput): Promise<NotificationInput> {
  // Topic and segment messages are in-app only, to whoever holds or is a member at delivery: no channels, no per-user preferences.
  if (!policies || input.scope === 'topic' || input.scope === 'segment') return input;
  const snapshot = await policies.load(input.tenantId, input.kind, input.userIds);
  const defaults = snapshot.kindDefaults;
  let delivery = input.delivery;
  if ((delivery === undefined || delivery.channels.length === 0) && defaults?.channels && defaults.channels.length > 0) {
    delivery = { ...delivery, channels: [...defaults.channels] };
  }
  if (delivery !== undefined && delivery.external === undefined && defaults?.external !== undefined) delivery = { ...delivery, external: defaults.external };
  const anyPreferences = snapshot.users.size > 0 || snapshot.tenant !== null;
  const muted = anyPreferences
    ? input.userIds.filter((user) => !decide(inputsFor(snapshot, input.kind, input.priority, user), IN_APP_CHANNEL).enabled)
    : [];
  if (delivery === input.delivery && muted.length === 0) return input;
  return { ...input, ...(delivery !== undefined && { delivery }), ...(muted.length > 0 && { mutedUserIds: muted }) };
}
