/**
 * Notification-center queries. Every query is scoped by the caller's (tenant, user) in
 * its WHERE clause: that is the owner check, so another user's ids simply match nothing.
 *
 * Rules:
 * - A user's notifications are their inbox rows (scope "user") plus their tenant's
 *   broadcasts (scope "tenant"), the app's announcements and the messages of the segments
 *   they are a member of now, which have no inbox row until their state changes.
 * - History is newest first by (created_at, id). Both never change, so a cursor taken
 *   from the last row of a page stays valid while new rows arrive (they sort before
 *   it), whatever the filter. Every row is listed from its commit: its position (`seq`)
 *   is written with it.
 * - Per-user state (seen, read, archived) is kept on the inbox row. For a broadcast that
 *   row (tenant, user, message) has `seq` NULL and is created when its state first
 *   changes (read, seen, archived; unarchiving creates none). NULL keeps it out of
 *   replay (which reads inbox rows by seq, replay-repository.ts) so the broadcast is not
 *   replayed twice; nothing else ever writes that row's seq.
 * - States: read implies seen (reading stamps `seen_at` too; a row read before
 *   `seen_at` existed counts as seen). Archived rows keep their read state but leave the
 *   default list and every count. Lists filter by status (inbox-queries.ts, `withStatus`).
 * - Muted rows (the user opted out of in-app for the kind when it was written) are
 *   stored but not listed unless asked for, not counted, not touched by read-all or
 *   seen-until; a request naming one by id still changes it. Broadcasts are never muted.
 * - The commit-ordered stream (what the socket replays, and polling clients read) is
 *   replay-repository.ts + realtime/replay.ts.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { broadcasts, CHUNK, ensureStateRows, isBroadcast, notExpired, personal, reachesMember, unseen, visibleTo, withStatus, type InboxStatus } from './inbox-queries.js';
import { MESSAGE_COLUMNS, toNumber, toWire, type MessageRow, type WireNotification } from './message-codec.js';

export type { InboxStatus } from './inbox-queries.js';

export interface InboxItem extends WireNotification {
  read: boolean;
  readAt: string | null;
  seen: boolean;
  archived: boolean;
  archivedAt: string | null;
  /** Present, true, only on muted rows (listed with `includeMuted`). */
  muted?: true;
}

/** A history position: the (created_at, id) of the last row a client has seen. */
export interface HistoryPosition {
  createdAt: number;
  id: string;
}

export interface ListOptions {
  limit: number;
  before: HistoryPosition | null;
  status: InboxStatus;
  includeMuted: boolean;
}

export type MarkResult = 'changed' | 'unchanged' | 'not_found';

/** Which rows a seen request covers: these ids, or everything created up to `until`. */
export type SeenTarget = { ids: readonly string[] } | { until: number };

interface InboxRow extends MessageRow {
  read_at: number | string | null;
  seen_at: number | string | null;
  archived_at: number | string | null;
  muted: number | string | boolean | null;
}

const COLUMNS = [...MESSAGE_COLUMNS.map((c) => `m.${c}`), 'i.read_at', 'i.seen_at', 'i.archived_at', 'i.muted'];

/** The per-row state a single change sets or clears. */
type StateColumn = 'read_at' | 'archived_at';

export class InboxRepository {
  constructor(private readonly db: Knex) {}

  async listHistory(who: Principal, options: ListOptions, now = Date.now()): Promise<{ items: InboxItem[]; next: HistoryPosition | null }> {
    const page = (query: Knex.QueryBuilder) => {
      withStatus(notExpired(query, now), options.status);
      const before = options.before;
      if (before) {
        query.where((q) =>
          q.where('m.created_at', '<', before.createdAt).orWhere((t) => t.where('m.created_at', before.createdAt).andWhere('m.id', '<', before.id)),
        );
      }
      // One extra row tells whether another page exists.
      return query.orderBy('m.created_at', 'desc').orderBy('m.id', 'desc').limit(options.limit + 1).select(COLUMNS) as Promise<InboxRow[]>;
    };
    const own = personal(this.db, who, { includeMuted: options.includeMuted });
    const [mine, shared] = await Promise.all([page(own), page(broadcasts(this.db, who))]);
    const merged = [...mine, ...shared].sort(newestFirst);
    const rows = merged.slice(0, options.limit);
    const last = rows[rows.length - 1];
    const next = merged.length > options.limit && last ? { createdAt: toNumber(last.created_at) ?? 0, id: last.id } : null;
    return { items: rows.map(toItem), next };
  }

  /** Unread (not archived, not muted) and, of those, not seen yet. */
  async counts(who: Principal, now = Date.now()): Promise<{ unread: number; unseen: number }> {
    const count = async (query: Knex.QueryBuilder) => {
      const row = (await withStatus(notExpired(query, now), 'unread')
        .select(this.db.raw('COUNT(*) AS unread'), this.db.raw('SUM(CASE WHEN i.seen_at IS NULL THEN 1 ELSE 0 END) AS unseen'))
        .first()) as { unread: number | string | null; unseen: number | string | null } | undefined;
      return { unread: Number(row?.unread ?? 0), unseen: Number(row?.unseen ?? 0) };
    };
    const [own, shared] = await Promise.all([count(personal(this.db, who)), count(broadcasts(this.db, who))]);
    return { unread: own.unread + shared.unread, unseen: own.unseen + shared.unseen };
  }

  /** Marks one read (and seen). */
  markRead(who: Principal, id: string, now = Date.now()): Promise<MarkResult> {
    return this.changeOne(who, id, 'read_at', true, now);
  }

  setArchived(who: Principal, id: string, archived: boolean, now = Date.now()): Promise<MarkResult> {
    return this.changeOne(who, id, 'archived_at', archived, now);
  }

  /** Marks everything created up to `until` read (muted rows aside); returns the ids that changed. */
  async markAllRead(who: Principal, until: number, now = Date.now()): Promise<string[]> {
    const db = this.db;
    const unreadBroadcasts = (await broadcasts(db, who)
      .whereNull('i.read_at')
      .andWhere('m.created_at', '<=', until)
      .select('m.id', 'm.created_at')) as { id: string; created_at: number | string }[];
    await ensureStateRows(db, who, unreadBroadcasts);
    const ids: string[] = await this.ownRows(who)
      .whereNull('read_at')
      .andWhere('muted', false)
      .andWhere('created_at', '<=', until)
      .pluck('message_id');
    return this.stampEach(who, ids, 'read_at', now);
  }

  /** Marks rows seen: the given ids of the caller, or everything up to `until` (muted rows aside). Returns the ids that changed. */
  async markSeen(who: Principal, target: SeenTarget, now = Date.now()): Promise<string[]> {
    const db = this.db;
    const covering = (query: Knex.QueryBuilder, id: string, createdAt: string) =>
      'ids' in target ? query.whereIn(id, target.ids) : query.andWhere(createdAt, '<=', target.until);
    if ('ids' in target && target.ids.length === 0) return [];
    const unseenBroadcasts = (await covering(unseen(broadcasts(db, who)), 'm.id', 'm.created_at').select('m.id', 'm.created_at')) as {
      id: string;
      created_at: number | string;
    }[];
    await ensureStateRows(db, who, unseenBroadcasts);
    const rows = covering(unseen(this.ownRows(who), 'notify_inbox'), 'message_id', 'created_at');
    const ids: string[] = await ('ids' in target ? rows : rows.andWhere('muted', false)).pluck('message_id');
    return this.stampEach(who, ids, 'seen_at', now);
  }

  /** Records a socket `notify:ack` of the caller's inbox rows `ids`; returns the rows that changed. */
  async markAcked(who: Principal, ids: readonly string[], now = Date.now()): Promise<number> {
    // The WHERE on (tenant, user) is the isolation: ids of other users match nothing.
    return this.ownRows(who).whereIn('message_id', ids).whereNull('acked_at').update({ acked_at: now });
  }

  /** Sets (`on`) or clears one state of one notification of the caller. */
  private async changeOne(who: Principal, id: string, column: StateColumn, on: boolean, now: number): Promise<MarkResult> {
    const message = (await visibleTo(this.db('notify_messages').where({ id }), who)
      .first('scope', 'seq', 'created_at')) as Pick<MessageRow, 'scope' | 'seq' | 'created_at'> | undefined;
    if (!message) return 'not_found';
    const broadcast = isBroadcast(message.scope);
    if (broadcast && message.seq === null) return 'not_found'; // not listed yet: see the header
    // A segment message is the user's only while they are a member of one of its segments.
    if (message.scope === 'segment' && !(await reachesMember(this.db, who, id))) return 'not_found';
    if (broadcast && on) await ensureStateRows(this.db, who, [{ id, created_at: message.created_at }]);
    const row = this.ownRows(who).where('message_id', id);
    const updated = on ? await row.whereNull(column).update(this.stamp(column, now)) : await row.whereNotNull(column).update({ [column]: null });
    if (updated > 0) return 'changed';
    // A broadcast of the tenant is everyone's, with a state row or not.
    if (broadcast) return 'unchanged';
    const own = await this.ownRows(who).where('message_id', id).first('message_id');
    return own ? 'unchanged' : 'not_found';
  }

  /** Stamps `column` on the caller's rows `ids` that lack it, in chunks; returns `ids`. */
  private async stampEach(who: Principal, ids: string[], column: StateColumn | 'seen_at', now: number): Promise<string[]> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = this.ownRows(who).whereIn('message_id', ids.slice(i, i + CHUNK));
      await (column === 'seen_at' ? unseen(rows, 'notify_inbox') : rows.whereNull(column)).update(this.stamp(column, now));
    }
    return ids;
  }

  /** What setting a state writes: reading a row also makes it seen. */
  private stamp(column: StateColumn | 'seen_at', now: number): Record<string, unknown> {
    return column === 'read_at' ? { read_at: now, seen_at: this.db.raw('COALESCE(seen_at, ?)', [now]) } : { [column]: now };
  }

  private ownRows(who: Principal): Knex.QueryBuilder {
    return this.db('notify_inbox').where({ tenant_id: who.tenantId, user_id: who.userId });
  }
}

const newestFirst = (a: InboxRow, b: InboxRow) => {
  const byTime = (toNumber(b.created_at) ?? 0) - (toNumber(a.created_at) ?? 0);
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
};

const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : new Date(epochMs).toISOString());

function toItem(row: InboxRow): InboxItem {
  const readAt = toNumber(row.read_at);
  const archivedAt = toNumber(row.archived_at);
  const muted = row.muted !== null && Number(row.muted) === 1;
  return {
    ...toWire(row),
    read: readAt !== null,
    readAt: isoOrNull(readAt),
    seen: readAt !== null || toNumber(row.seen_at) !== null,
    archived: archivedAt !== null,
    archivedAt: isoOrNull(archivedAt),
    ...(muted && { muted: true as const }),
  };
}
