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
 *   inbox rows by seq) so the broadcast is not replayed twice; nothing else ever writes
 *   that row's seq.
 * - The commit-ordered stream (`streamAfter`) is what the socket replays, for clients
 *   that can only poll: positions are ids resolved to `seq`, never ids compared.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { replayStream, resolveCursor } from '../realtime/replay.js';
import { MESSAGE_COLUMNS, toNumber, toWire, type MessageRow, type WireNotification } from '../store/message-codec.js';

export interface InboxItem extends WireNotification {
  read: boolean;
  readAt: string | null;
}

/** A history position: the (created_at, id) of the last row a client has seen. */
export interface HistoryPosition {
  createdAt: number;
  id: string;
}

interface InboxRow extends MessageRow {
  read_at: number | string | null;
}

const COLUMNS = [...MESSAGE_COLUMNS.map((c) => `m.${c}`), 'i.read_at'];
const CHUNK = 500;

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

export async function listHistory(
  db: Knex,
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
  const [own, shared] = await Promise.all([page(personal(db, who)), page(broadcasts(db, who))]);
  const merged = [...own, ...shared].sort(newestFirst);
  const rows = merged.slice(0, options.limit);
  const last = rows[rows.length - 1];
  const next = merged.length > options.limit && last ? { createdAt: toNumber(last.created_at) ?? 0, id: last.id } : null;
  return { items: rows.map(toItem), next };
}

export async function countUnread(db: Knex, who: Principal, now = Date.now()): Promise<number> {
  const count = async (query: Knex.QueryBuilder) => {
    const row = (await notExpired(query.whereNull('i.read_at'), now).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  };
  const [own, shared] = await Promise.all([count(personal(db, who)), count(broadcasts(db, who))]);
  return own + shared;
}

export type MarkResult = 'changed' | 'unchanged' | 'not_found';

export async function markRead(db: Knex, who: Principal, id: string, now = Date.now()): Promise<MarkResult> {
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
export async function markAllRead(db: Knex, who: Principal, until: number, now = Date.now()): Promise<string[]> {
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

/** The id of the newest entry in the user's commit-ordered stream, or null when it is empty. */
export async function streamHead(db: Knex, who: Principal): Promise<string | null> {
  const own = (await db('notify_inbox')
    .where({ tenant_id: who.tenantId, user_id: who.userId })
    .whereNotNull('seq')
    .orderBy('seq', 'desc')
    .first('message_id as id', 'seq')) as { id: string; seq: number | string } | undefined;
  const shared = (await db('notify_messages')
    .where({ tenant_id: who.tenantId, scope: 'tenant' })
    .whereNotNull('seq')
    .orderBy('seq', 'desc')
    .first('id', 'seq')) as { id: string; seq: number | string } | undefined;
  if (!own || !shared) return (own ?? shared)?.id ?? null;
  return (toNumber(own.seq) ?? 0) > (toNumber(shared.seq) ?? 0) ? own.id : shared.id;
}

export const STREAM_START = 'start';

export interface StreamSlice {
  items: WireNotification[];
  /** Where to continue: the last entry read (delivered or too old), or the head. */
  lastId: string | null;
  recovered: boolean;
}

/**
 * The stream after a position, for polling clients. `after` is a notification id of the
 * user's stream (any age: the position stays exact) or `start` (the user saw an empty
 * stream). Entries older than the replay retention are skipped, not delivered — the
 * same horizon the socket replay keeps — but still move `lastId` on.
 */
export async function streamAfter(
  db: Knex,
  who: Principal,
  after: string,
  limit: number,
  retentionMs: number,
  now = Date.now(),
): Promise<StreamSlice> {
  const seq = after === STREAM_START ? 0 : await resolveCursor(db, who, after, Number.MAX_SAFE_INTEGER, now);
  if (seq === null) return { items: [], lastId: await streamHead(db, who), recovered: false };
  const horizon = now - retentionMs;
  const items: WireNotification[] = [];
  let lastId: string | null = after === STREAM_START ? null : after;
  pages: for await (const page of replayStream(db, who, seq, limit)) {
    for (const entry of page) {
      lastId = entry.notification.id;
      if (Date.parse(entry.notification.createdAt) >= horizon) items.push(entry.notification);
      if (items.length >= limit) break pages;
    }
  }
  return { items, lastId, recovered: true };
}
