/**
 * What `topics` and `transient: true` demand of a notify body (http/notify-schema.ts):
 * - exactly one kind of target: userId(s), `scope: "tenant"`, or `topics`;
 * - topic messages are in-app only: no channels or what only channels use;
 * - a transient notification is never stored, so nothing that needs storage applies:
 *   no dedupe key, ttl, channels.
 */
/** The notify body's fields the target rules read. */
export interface TargetFields {
  userId?: unknown;
  userIds?: unknown;
  scope?: string | undefined;
  topics?: unknown;
  transient?: boolean | undefined;
  channels?: unknown;
  link?: unknown;
  digestKey?: unknown;
  dedupeKey?: unknown;
  ttlSeconds?: unknown;
}

const CHANNEL_FIELDS = ['channels', 'link', 'digestKey'] as const;

export function topicAndTransientIssues(body: TargetFields): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const refuse = (field: keyof TargetFields, message: string) => {
    if (body[field] !== undefined) issues.push({ path: [field], message });
  };
  if (body.topics !== undefined) {
    if (body.userId !== undefined || body.userIds !== undefined || body.scope === 'tenant' || body.scope === 'app') {
      issues.push({ path: ['topics'], message: 'give one target: userId(s), scope "tenant" or topics' });
    }
    for (const field of CHANNEL_FIELDS) refuse(field, 'topic messages are in-app only: no channels');
  } else if (body.transient === true) {
    for (const field of CHANNEL_FIELDS) refuse(field, 'a transient notification is never stored: no channels');
  }
  if (body.transient === true) {
    refuse('dedupeKey', 'a transient notification is never stored: no dedupeKey');
    refuse('ttlSeconds', 'a transient notification is never stored: no ttlSeconds');
  }
  return issues;
}
