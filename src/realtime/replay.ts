/**
 * Replay — what a reconnecting client missed, read from the store in commit order.
 *
 * Rules:
 * - A user's stream is the union of their inbox rows (scope "user") and their tenant's
 *   broadcasts (scope "tenant"), ordered by position (`seq`), never by id: ids are not
 *   commit-ordered, positions are (see outbox/notification-writer.ts).
 * - `lastAckId` is resolved to a position only if it belongs to this user's stream and
 *   is within REPLAY_RETENTION_HOURS; otherwise the cursor is unknown and the client is
 *   told `recovered: false` (refetch over REST) rather than guessed at.
 * - Pages are bounded (REPLAY_PAGE_SIZE); the caller keeps reading until a short page.
 * - Expired notifications (ttlSeconds) are not replayed.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { MESSAGE_COLUMNS, toNumber, toWire, type MessageRow, type WireNotification } from '../store/message-codec.js';

export interface StreamEntry {
  seq: number;
  notification: WireNotification;
}

export async function resolveCursor(
  db: Knex,
  who: Principal,
  lastAckId: string,
  retentionMs: number,
  now = Date.now(),
): Promise<number | null> {
  const message = await db('notify_messages')
    .where({ id: lastAckId, tenant_id: who.tenantId })
    .first<Pick<MessageRow, 'scope' | 'seq' | 'created_at'> | undefined>('scope', 'seq', 'created_at');
  const seq = toNumber(message?.seq);
  if (!message || seq === null) return null;
  if ((toNumber(message.created_at) ?? 0) < now - retentionMs) return null;
  if (message.scope === 'user') {
    const own = await db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId, message_id: lastAckId })
      .first('message_id');
    if (!own) return null;
  }
  return seq;
}

/** One page of the stream after `afterSeq`, expired rows included (they still advance the cursor). */
async function readStreamPage(db: Knex, who: Principal, afterSeq: number, limit: number): Promise<MessageRow[]> {
  const columns = MESSAGE_COLUMNS.map((c) => `m.${c}`);
  const personal: MessageRow[] = await db('notify_inbox as i')
    .join('notify_messages as m', 'm.id', 'i.message_id')
    .where('i.tenant_id', who.tenantId)
    .andWhere('i.user_id', who.userId)
    .andWhere('i.seq', '>', afterSeq)
    .orderBy('i.seq')
    .limit(limit)
    .select(columns);
  const broadcast: MessageRow[] = await db('notify_messages as m')
    .where('m.tenant_id', who.tenantId)
    .andWhere('m.scope', 'tenant')
    .andWhere('m.seq', '>', afterSeq)
    .orderBy('m.seq')
    .limit(limit)
    .select(columns);
  return [...personal, ...broadcast].sort((a, b) => (toNumber(a.seq) ?? 0) - (toNumber(b.seq) ?? 0)).slice(0, limit);
}

/** The user's stream after `afterSeq`, page by page, in commit order, without expired rows. */
export async function* replayStream(
  db: Knex,
  who: Principal,
  afterSeq: number,
  pageSize: number,
): AsyncGenerator<StreamEntry[]> {
  let cursor = afterSeq;
  for (;;) {
    const rows = await readStreamPage(db, who, cursor, pageSize);
    const now = Date.now();
    const live = rows.filter((row) => !isExpired(row, now));
    if (live.length > 0) yield live.map((row) => ({ seq: toNumber(row.seq) ?? 0, notification: toWire(row) }));
    if (rows.length < pageSize) return;
    cursor = toNumber(rows[rows.length - 1]!.seq) ?? cursor;
  }
}

function isExpired(row: MessageRow, now: number): boolean {
  const expiresAt = toNumber(row.expires_at);
  return expiresAt !== null && expiresAt <= now;
}
