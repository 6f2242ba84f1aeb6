/**
 * What a fresh device (a connection without `lastAckId`) is sent: the user's own
 * notifications that no session has acked yet, in commit order.
 *
 * Rules:
 * - Only inbox rows with a position (scope "user"): an ack (`notify:ack`) is recorded on
 *   the user's inbox row, so "not acked" is `acked_at IS NULL`. Tenant broadcasts and topic
 *   messages have no per-user ack record and are not part of it (the REST list has them).
 * - Muted rows are never sent, as in every replay.
 * - Scoped by the caller's (tenant, user) in the WHERE clause, like every stream query.
 * - Pages are read by position; the caller keeps reading until a short page. The walk
 *   starts at the user's newest row older than the horizon (found down the user's stream
 *   index), so it touches only the user's rows within the replay retention, not their
 *   whole history. (`created_at` is stamped just before a write takes its position, so
 *   near the horizon it may disagree with position order by the time a write waited for
 *   the sequence lock: only rows that old, at the very edge of the retention, are affected.)
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { MESSAGE_COLUMNS, toNumber, type MessageRow } from './message-codec.js';

export class UnackedRepository {
  constructor(private readonly db: Knex) {}

  /** The position of the caller's newest row created before `since`, or 0: where a walk of newer rows starts. */
  async positionBefore(who: Principal, since: number): Promise<number> {
    const row = (await this.db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId })
      .whereNotNull('seq')
      .andWhere('created_at', '<', since)
      .orderBy('seq', 'desc')
      .first('seq')) as { seq: number | string } | undefined;
    return toNumber(row?.seq) ?? 0;
  }

  /** Unacked rows of the caller after `afterSeq`, created at or after `since` (epoch ms), oldest position first. */
  async readPage(who: Principal, afterSeq: number, since: number, limit: number): Promise<MessageRow[]> {
    return this.db('notify_inbox as i')
      .join('notify_messages as m', 'm.id', 'i.message_id')
      .where('i.tenant_id', who.tenantId)
      .andWhere('i.user_id', who.userId)
      .andWhere('i.seq', '>', afterSeq)
      .andWhere('i.muted', false)
      .whereNull('i.acked_at')
      .andWhere('i.created_at', '>=', since)
      .orderBy('i.seq')
      .limit(limit)
      .select(MESSAGE_COLUMNS.map((c) => `m.${c}`));
  }
}
