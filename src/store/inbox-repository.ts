/**
 * Notification-center queries. Every query is scoped by the caller's (tenant, user) in
 * its WHERE clause: that is the owner check, so another user's ids simply match nothing.
 *
 * Rules:
 * - A user's notifications are their inbox rows (scope "user") plus their tenant's
 *   broadcasts (scope "tenant"), which have no inbox row until read.
 * - History is newest first by (created_at, id). Both never change, so a cursor taken
 *   from the last row of a page stays valid while new rows arrive (they sort before
 *   it). Every row is listed from its commit: its position (`seq`) is written with it.
 * - Per-user read state of a broadcast is an inbox row (tenant, user, message) with
 *   `seq` NULL, created when it is first read. NULL keeps it out of replay (which reads
 *   inbox rows by seq, replay-repository.ts) so the broadcast is not replayed twice;
 *   nothing else ever writes that row's seq.
 * - The commit-ordered stream (what the socket replays, and polling clients read) is
 *   replay-repository.ts + realtime/replay.ts.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { MESSAGE_COLUMNS, toNumber, toWire, type MessageRow, type WireNotification } from './message-codec.js';

export interface InboxItem extends WireNotification {
  read: boolean;
  readAt: string | null;
}

/** A history position: the (created_at, id) of the last row a client has seen. */
export interface HistoryPosition {
  createdAt: number;
  id: string;
}

export type MarkResult = 'changed' | 'unchanged' | 'not_found';

interface InboxRow extends MessageRow {
  read_at: number | string | null;
}

const COLUMNS = [...MESSAGE_COLUMNS.map((c) => `m.${c}`), 'i.read_at'];
const CHUNK = 500;

export class InboxRepository {
  constructor(private readonly db: Knex) {}

  async listHistory(
    who: Principal,
    options: { limit: number; before: HistoryPosition | null; unreadOnly: boolean },
    now = Date.now(),
  ): Promise<{ items: InboxItem[]; next: HistoryPosition | null }> {
    const page = (query: Knex.QueryBuilder) => {
      notExpired(query, now);
      const before = options.before;
      if (before) {
        query.where((q) =>
          q.where('m.created_at', '<', before.createdAt).orWhere((t) => t.where('m.created_at', before.createdAt).andWhere('m.id', '<', before.id)),
        );
      }
      if (options.unreadOnly) query.whereNull('i.read_at');
      // One extra row tells whether another page exists.
      return query.orderBy('m.created_at', 'desc').orderBy('m.id', 'desc').limit(options.limit + 1).select(COLUMNS) as Promise<InboxRow[]>;
    };
    const [own, shared] = await Promise.all([page(personal(this.db, who)), page(broadcasts(this.db, who))]);
    const merged = [...own, ...shared].sort(newestFirst);
    const rows = merged.slice(0, options.limit);
    const last = rows[rows.length - 1];
    const next = merged.length > options.limit && last ? { createdAt: toNumber(last.created_at) ?? 0, id: last.id } : null;
    return { items: rows.map(toItem), next };
  }

  async countUnread(who: Principal, now = Date.now()): Promise<number> {
    const count = async (query: Knex.QueryBuilder) => {
      const row = (await notExpired(query.whereNull('i.read_at'), now).count({ n: '*' }).first()) as { n: number | string } | undefined;
      return Number(row?.n ?? 0);
    };
    const [own, shared] = await Promise.all([count(personal(this.db, who)), count(broadcasts(this.db, who))]);
    return own + shared;
  }

  async markRead(who: Principal, id: string, now = Date.now()): Promise<MarkResult> {
    const db = this.db;
    const message = (await db('notify_messages')
      .where({ id, tenant_id: who.tenantId })
      .first('scope', 'seq', 'created_at')) as Pick<MessageRow, 'scope' | 'seq' | 'created_at'> | undefined;
    if (!message) return 'not_found';
    if (message.scope === 'tenant') {
      if (message.seq === null) return 'not_found'; // not listed yet: see the header
      await ensureReadRows(db, who, [{ id, created_at: message.created_at }]);
    }
    const updated = await db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId, message_id: id })
      .whereNull('read_at')
      .update({ read_at: now });
    if (updated > 0) return 'changed';
    const own = await db('notify_inbox').where({ tenant_id: who.tenantId, user_id: who.userId, message_id: id }).first('message_id');
    return own ? 'unchanged' : 'not_found';
  }

  /** Marks everything created up to `until` read; returns the ids that changed. */
  async markAllRead(who: Principal, until: number, now = Date.now()): Promise<string[]> {
    const db = this.db;
    const unreadBroadcasts = (await broadcasts(db, who)
      .whereNull('i.read_at')
      .andWhere('m.created_at', '<=', until)
      .select('m.id', 'm.created_at')) as { id: string; created_at: number | string }[];
    await ensureReadRows(db, who, unreadBroadcasts);
    const ids: string[] = await db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId })
      .whereNull('read_at')
      .andWhere('created_at', '<=', until)
      .pluck('message_id');
    const changed: string[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      await db('notify_inbox')
        .where({ tenant_id: who.tenantId, user_id: who.userId })
        .whereIn('message_id', chunk)
        .whereNull('read_at')
        .update({ read_at: now });
      changed.push(...chunk);
    }
    return changed;
  }

  /** Records a socket `notify:ack` of the caller's inbox rows `ids`; returns the rows that changed. */
  async markAcked(who: Principal, ids: readonly string[], now = Date.now()): Promise<number> {
    // The WHERE on (tenant, user) is the isolation: ids of other users match nothing.
    return this.db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId })
      .whereIn('message_id', ids)
      .whereNull('acked_at')
      .update({ acked_at: now });
  }
}

function personal(db: Knex, who: Principal) {
  return db('notify_inbox as i')
    .join('notify_messages as m', 'm.id', 'i.message_id')
    .where('i.tenant_id', who.tenantId)
    .andWhere('i.user_id', who.userId)
    .andWhere('m.tenant_id', who.tenantId)
    .andWhere('m.scope', 'user');
}

function broadcasts(db: Knex, who: Principal) {
  return db('notify_messages as m')
    .leftJoin('notify_inbox as i', function joinReadState() {
      this.on('i.message_id', '=', 'm.id').andOnVal('i.tenant_id', '=', who.tenantId).andOnVal('i.user_id', '=', who.userId);
    })
    .where('m.tenant_id', who.tenantId)
    .andWhere('m.scope', 'tenant')
    .whereNotNull('m.seq');
}

function notExpired(query: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return query.where((q) => q.whereNull('m.expires_at').orWhere('m.expires_at', '>', now));
}

const newestFirst = (a: InboxRow, b: InboxRow) => {
  const byTime = (toNumber(b.created_at) ?? 0) - (toNumber(a.created_at) ?? 0);
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
};

function toItem(row: InboxRow): InboxItem {
  const readAt = toNumber(row.read_at);
  return { ...toWire(row), read: readAt !== null, readAt: readAt === null ? null : new Date(readAt).toISOString() };
}

/** Read-state rows for broadcasts: seq NULL (see header); a concurrent insert of the same row is ignored. */
async function ensureReadRows(db: Knex, who: Principal, messages: { id: string; created_at: number | string }[]) {
  for (let i = 0; i < messages.length; i += CHUNK) {
    const rows = messages.slice(i, i + CHUNK).map((m) => ({
      tenant_id: who.tenantId,
      user_id: who.userId,
      message_id: m.id,
      seq: null,
      created_at: toNumber(m.created_at) ?? 0,
      read_at: null,
    }));
    await db('notify_inbox').insert(rows).onConflict(['tenant_id', 'user_id', 'message_id']).ignore();
  }
}
