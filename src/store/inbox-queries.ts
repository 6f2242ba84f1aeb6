/**
 * The query pieces of the notification center; inbox-repository.ts states the rules
 * they implement (what a user's rows are, broadcast state rows, muted rows).
 */
import { appWideKeyOf } from '../apps/app-scope.js';
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

/**
 * The listed broadcasts the user shares: the tenant's (`scope: "tenant"`), the app's
 * announcements (`scope: "app"`, apps/app-scope.ts) and the messages of the segments the
 * user is a member of now (`scope: "segment"`), each with the user's state row when
 * there is one (never muted). State rows are the user's, under the user's tenant.
 */
export function broadcasts(db: Knex, who: Principal): Knex.QueryBuilder {
  return sharedWith(
    db('notify_messages as m').leftJoin('notify_inbox as i', function joinStateRow() {
      this.on('i.message_id', '=', 'm.id').andOnVal('i.tenant_id', '=', who.tenantId).andOnVal('i.user_id', '=', who.userId);
    }),
    who,
  ).whereNotNull('m.seq');
}

/** Narrows a query over messages `m` to the broadcasts `who` shares: tenant, app-wide, and their segments'. */
export function sharedWith(query: Knex.QueryBuilder, who: Principal, alias = 'm'): Knex.QueryBuilder {
  return query.where((q) => tenantAndAppWide(q, who, alias).orWhere((s) => ofMemberSegments(s, who, alias)));
}

/** Narrows a query over messages `m` to the tenant's broadcasts and the app's announcements (no segments). */
export function broadcastsTo(query: Knex.QueryBuilder, who: Principal, alias = 'm'): Knex.QueryBuilder {
  return query.where((q) => tenantAndAppWide(q, who, alias));
}

function tenantAndAppWide(q: Knex.QueryBuilder, who: Principal, alias: string): Knex.QueryBuilder {
  return q
    .where({ [`${alias}.tenant_id`]: who.tenantId, [`${alias}.scope`]: 'tenant' })
    .orWhere({ [`${alias}.tenant_id`]: appWideKeyOf(who.tenantId), [`${alias}.scope`]: 'app' });
}

/**
 * Segment messages of the tenant sent to a segment `who` is a member of now: membership
 * is read when the message is read, never copied into the inbox (store/segment-repository.ts).
 */
function ofMemberSegments(q: Knex.QueryBuilder, who: Principal, alias: string): Knex.QueryBuilder {
  return q
    .where({ [`${alias}.tenant_id`]: who.tenantId, [`${alias}.scope`]: 'segment' })
    .whereExists(function memberOfOne(this: Knex.QueryBuilder) {
      segmentsOf(this, who).whereRaw('sm.message_id = ??', [`${alias}.id`]);
    });
}

/** The (segment message, membership) pairs of `who`: `sm` joined to their membership rows. */
function segmentsOf(query: Knex.QueryBuilder, who: Principal): Knex.QueryBuilder {
  return query
    .select('sm.message_id')
    .from('notify_segment_messages as sm')
    .join('notify_segment_members as sg', function sameSegment() {
      this.on('sg.tenant_id', '=', 'sm.tenant_id').andOn('sg.segment', '=', 'sm.segment');
    })
    .where('sm.tenant_id', who.tenantId)
    .andWhere('sg.user_id', who.userId);
}

/** Whether segment message `id` reaches `who` now (they are a member of one of its segments). */
export async function reachesMember(db: Knex, who: Principal, id: string): Promise<boolean> {
  return Boolean(await segmentsOf(db.queryBuilder(), who).andWhere('sm.message_id', id).first());
}

/** Narrows a query over messages `m` to those `who` may name by id: the tenant's, and the app's announcements. */
export function visibleTo(query: Knex.QueryBuilder, who: Principal): Knex.QueryBuilder {
  return query.where((q) => q.where('tenant_id', who.tenantId).orWhere({ tenant_id: appWideKeyOf(who.tenantId), scope: 'app' }));
}

/** Scopes stored once and shared by many users (no inbox row until a state changes). */
export const isBroadcast = (scope: string): boolean => scope === 'tenant' || scope === 'app' || scope === 'segment';

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
