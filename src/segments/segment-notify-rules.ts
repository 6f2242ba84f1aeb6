/**
 * What `segments` demands of a notify body (http/notify-schema.ts):
 * - exactly one kind of target: no userId(s), `scope: "tenant"`/`"app"` or topics beside it;
 * - segment messages are in-app only: no channels or what only channels use;
 * - never `transient: true`: members are found by the relay when it emits a stored
 *   message, and a transient one is never stored (send transient ones to user ids).
 */
import type { TargetFields } from '../topics/topic-notify-rules.js';

interface SegmentTargetFields extends TargetFields {
  segments?: unknown;
  devices?: unknown;
}

export function segmentIssues(body: SegmentTargetFields): { path: string[]; message: string }[] {
  if (body.segments === undefined) return [];
  const issues: { path: string[]; message: string }[] = [];
  if (body.userId !== undefined || body.userIds !== undefined || body.scope === 'tenant' || body.scope === 'app' || body.topics !== undefined) {
    issues.push({ path: ['segments'], message: 'give one target: userId(s), scope "tenant", topics or segments' });
  }
  for (const field of ['channels', 'link', 'digestKey', 'devices'] as const) {
    if (body[field] !== undefined) issues.push({ path: [field], message: `segment messages are in-app only: no ${field}` });
  }
  if (body.transient === true) {
    issues.push({ path: ['transient'], message: 'segments are expanded when a stored message is delivered: not with transient' });
  }
  return issues;
}
