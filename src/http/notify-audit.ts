/**
 * Audited notification kinds (AUDIT_KINDS: `kind` or `family:*`): every new notification
 * of such a kind leaves a `notify` row in the audit log (target: its id; details: kind,
 * scope, recipient count, priority, channel names; never the content or the recipients).
 * A dedupe hit writes nothing, so it is not recorded again.
 *
 * Best-effort after commit: the row is written once the notification's transaction has
 * committed, before the response. If that write fails the notification stands (the
 * client gets its 2xx, since it is stored) and the failure is logged with the message
 * ids. It is not written in the notification's transaction because that transaction is
 * shared: group commit puts many requests into one transaction holding the sequence row
 * lock until COMMIT (on MariaDB, one multi-statement query built by the writer), so
 * audit rows there would widen the one serialised step of every write.
 */
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { Logger } from '../logger.js';
import type { NotificationInput } from '../outbox/notification-writer.js';
import { keyActor, type AuditLog } from './audit-routes.js';

export interface NotifyAudit {
  /** Records the audited ones among `written` (new notifications, in order). Never throws. */
  afterCommit(grant: ApiKeyGrant, written: readonly { id: string; input: NotificationInput }[]): Promise<void>;
}

/** `kind` matches itself; `family:*` matches every kind that starts with `family:`. */
export function auditedKinds(patterns: readonly string[]): (kind: string) => boolean {
  const kinds = new Set(patterns.filter((p) => !p.endsWith(':*')));
  const families = new Set(patterns.filter((p) => p.endsWith(':*')).map((p) => p.slice(0, -2)));
  return (kind) => {
    const colon = kind.indexOf(':');
    return kinds.has(kind) || (colon !== -1 && families.has(kind.slice(0, colon)));
  };
}

export function createNotifyAudit(isAudited: (kind: string) => boolean, audit: AuditLog, logger: Logger): NotifyAudit {
  return {
    async afterCommit(grant, written) {
      const audited = written.filter((w) => isAudited(w.input.kind));
      if (audited.length === 0) return;
      try {
        await audit.record(
          audited.map(({ id, input }) => ({
            tenantId: input.tenantId,
            actor: keyActor(grant),
            action: 'notify',
            target: id,
            details: {
              kind: input.kind,
              scope: input.scope,
              recipients: input.userIds.length,
              priority: input.priority,
              ...(input.delivery && { channels: input.delivery.channels }),
            },
          })),
        );
      } catch (error) {
        logger.error({ err: error, messageIds: audited.map((w) => w.id) }, 'audit rows of committed notifications not written');
      }
    },
  };
}
