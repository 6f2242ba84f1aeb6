/**
 * A user's commit-ordered stream as the store holds it: what replay (socket, SSE,
 * polling) reads. The replay rules themselves — which cursors count, retention, expiry,
 * paging — live in realtime/replay.ts.
 *
 * Rules:
 * - A user's stream is the union of their inbox rows (scope "user") and their tenant's
 *   broadcasts (scope "tenant"), ordered by position (`seq`), never by id: ids are not
 *   commit-ordered, positions are (see outbox/notification-writer.ts).
 * - A broadcast's state inbox row has `seq` NULL (inbox-repository.ts); reading
 *   inbox rows by `seq` keeps it out, so the broadcast is not replayed twice.
 * - Muted rows (the user opted out of in-app for the kind) are not part of the stream:
 *   never replayed, never the head, as the relay never pushes them (stream-repository.ts).
 * - Every query is scoped by the caller's (tenant, user): another user's ids match nothing.
 * - Topic messages (scope "topic", no inbox rows) join a stream only for the topics the
 *   socket holds (notify_topic_messages); SSE and polling pass none.
 * - Segment messages (scope "segment", no inbox rows) join the stream of every member of
 *   one of their segments, membership as it is at the time of the read
 *   (notify_segment_messages × notify_segment_members); on every transport.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/user-token.js';
import { MESSAGE_COLUMNS, toNumber, type MessageRow } from './message-codec.js';
import { broadcastsTo, sharedWith, visibleTo } from './inbox-queries.js';

/** What a cursor id resolves through: the message's scope, position and age. */
export type CursorMessage = Pick<MessageRow, 'scope' | 'seq' | 'created_at'>;

export class ReplayRepository {
  constructor(private readonly db: Knex) {}

  /** The message `id` of the caller's tenant, or undefined. */
  async cursorMessage(who: Principal, id: string): Promise<CursorMessage | undefined> {
    return visibleTo(this.db('notify_messages').where({ id }), who).first<CursorMessage | undefined>('scope', 'seq', 'created_at');
  }

  /** Whether the caller has an inbox row for message `id` (a personal message is theirs). */
  async hasInboxRow(who: Principal, id: string): Promise<boolean> {
    const own = await this.db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId, message_id: id })
      .first('message_id');
    return Boolean(own);
  }

  /**
   * One page of the stream after `afterSeq`, expired rows included (they still advance the
   * cursor). `topics`: the tenant's topics the caller holds (authorised by the caller);
   * their messages are merged in by position, each once however many of them it went to.
   */
  async readPage(who: Principal, afterSeq: number, limit: number, topics: readonly string[] = []): Promise<MessageRow[]> {
    const columns = MESSAGE_COLUMNS.map((c) => `m.${c}`);
    const personal: MessageRow[] = await this.db('notify_inbox as i')
      .join('notify_messages as m', 'm.id', 'i.message_id')
      .where('i.tenant_id', who.tenantId)
      .andWhere('i.user_id', who.userId)
      .andWhere('i.seq', '>', afterSeq)
      .andWhere('i.muted', false)
      .orderBy('i.seq')
      .limit(limit)
      .select(columns);
    const broadcast: MessageRow[] = await broadcastsTo(this.db('notify_messages as m'), who)
      .andWhere('m.seq', '>', afterSeq)
      .orderBy('m.seq')
      .limit(limit)
      .select(columns);
    const topical = topics.length === 0 ? [] : await this.topicPage(who, afterSeq, limit, topics);
    const segmental = await this.segmentPage(who, afterSeq, limit);
    return [...personal, ...broadcast, ...topical, ...segmental].sort((a, b) => (toNumber(a.seq) ?? 0) - (toNumber(b.seq) ?? 0)).slice(0, limit);
  }

  /** Messages of `topics` after `afterSeq`, in order; positions first (one per message), then the rows. */
  private topicPage(who: Principal, afterSeq: number, limit: number, topics: readonly string[]): Promise<MessageRow[]> {
    return this.rowsAt(who, positionsAfter(this.db('notify_topic_messages'), afterSeq, limit).where('tenant_id', who.tenantId).whereIn('topic', [...topics]));
  }

  /** Messages of the segments `who` is a member of now, after `afterSeq`, in order; positions first, then the rows. */
  private segmentPage(who: Principal, afterSeq: number, limit: number): Promise<MessageRow[]> {
    const memberOf = this.db('notify_segment_members').where({ tenant_id: who.tenantId, user_id: who.userId }).select('segment');
    return this.rowsAt(who, positionsAfter(this.db('notify_segment_messages'), afterSeq, limit).where('tenant_id', who.tenantId).whereIn('segment', memberOf));
  }

  /** The tenant's messages at the positions `positions` finds (a message listed at several positions of it comes once). */
  private async rowsAt(who: Principal, positions: Knex.QueryBuilder): Promise<MessageRow[]> {
    const found: { message_id: string }[] = await positions;
    if (found.length === 0) return [];
    return this.db('notify_messages as m')
      .where('m.tenant_id', who.tenantId)
      .whereIn('m.id', found.map((p) => p.message_id))
      .select(MESSAGE_COLUMNS.map((c) => `m.${c}`));
  }

  /** The id of the newest entry in the user's commit-ordered stream, or null when it is empty. */
  async streamHead(who: Principal): Promise<string | null> {
    const own = (await this.db('notify_inbox')
      .where({ tenant_id: who.tenantId, user_id: who.userId, muted: false })
      .whereNotNull('seq')
      .orderBy('seq', 'desc')
      .first('message_id as id', 'seq')) as { id: string; seq: number | string } | undefined;
    const shared = (await sharedWith(this.db('notify_messages as m'), who)
      .whereNotNull('m.seq')
      .orderBy('m.seq', 'desc')
      .first('m.id as id', 'm.seq as seq')) as { id: string; seq: number | string } | undefined;
    if (!own || !shared) return (own ?? shared)?.id ?? null;
    return (toNumber(own.seq) ?? 0) > (toNumber(shared.seq) ?? 0) ? own.id : shared.id;
  }

  /** The newest position overall: anything committed later gets a higher seq (positions are taken in commit order). */
  async currentHead(): Promise<number> {
    const row = (await this.db('notify_messages').max({ top: 'seq' }).first()) as { top: number | string | null } | undefined;
    return toNumber(row?.top) ?? 0;
  }
}

/** Positions of a per-target position table (topics, segments) after `afterSeq`, one row per message, in order. */
function positionsAfter(table: Knex.QueryBuilder, afterSeq: number, limit: number): Knex.QueryBuilder {
  return table.distinct('message_id', 'seq').andWhere('seq', '>', afterSeq).orderBy('seq').limit(limit);
}
