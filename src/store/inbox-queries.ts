/**
 * The query pieces of the notification center; inbox-repository.ts states the rules
 * they implement (what a user's rows are, broadcast state rows, muted rows).
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { toNumber } from './message-codec.js';

/** A list filter: `active` (the default) is everything not archived, read or unread. */
export type InboxStatus = 'active' | 'unread' | 'read' | 'archived' | 'all';

/** Rows per statement when many rows change at once (chunks of an IN list). */
export const CHUNK = 500;

/** The user's own rows (scope "user"); muted rows only when asked for. */
export function personal(db: Knex, who: Principal, options: { includeMuted?: boolean } = {}): Knex.QueryBuilder {
  const query = db('notify_inbox as i')
    .join('notify_messages as m', 'm.id', 'i.message_id')
    .where('i.tenant_id', who.tenantId)
    .andWhere('i.user_id', who.userId)
    .andWhere('m.tenant_id', who.tenantId)
    .andWhere('m.scope', 'user');
  return options.includeMuted ? query : query.andWhere('i.muted', false);
}

/** The tenant's listed broadcasts, each with the user's state row when there is one (never muted). */
export function broadcasts(db: Knex, who: Principal): Knex.QueryBuilder {
  return db('notify_messages as m')
    .leftJoin('notify_inbox as i', function joinStateRow() {
      this.on('i.message_id', '=', 'm.id').andOnVal('i.tenant_id', '=', who.tenantId).andOnVal('i.user_id', '=', who.userId);
    })
    .where('m.tenant_id', who.tenantId)
    .andWhere('m.scope', 'tenant')
    .whereNotNull('m.seq');
}

export function notExpired(query: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return query.where((q) => q.whereNull('m.expires_at').orWhere('m.expires_at', '>', now));
}

/** Narrows a query over `i` (a broadcast without a state row is unread, unseen, not archived). */
export function withStatus(query: Knex.QueryBuilder, status: InboxStatus): Knex.QueryBuilder {
  switch (status) {
    case 'active':
      return query.whereNull('i.archived_at');
    case 'unread':
      return query.whereNull('i.archived_at').whereNull('i.read_at');
    case 'read':
      return query.whereNull('i.archived_at').whereNotNull('i.read_at');
    case 'archived':
      return query.whereNotNull('i.archived_at');
    case 'all':
      return query;
  }
}

/** Not seen: a read row counts as seen (rows read before `seen_at` existed have none). */
export function unseen(query: Knex.QueryBuilder, alias = 'i'): Knex.QueryBuilder {
  return query.whereNull(`${alias}.seen_at`).whereNull(`${alias}.read_at`);
}

/**
 * State rows for broadcasts: seq NULL (inbox-repository.ts header), not muted; a
 * concurrent insert of the same row is ignored.
 */
export async function ensureStateRows(db: Knex, who: Principal, messages: readonly { id: string; created_at: number | string }[]): Promise<void> {
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
