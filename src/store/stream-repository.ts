/**
 * The committed stream as its consumers read it: outbox rows in position order, each
 * consumer's durable cursor, and pruning of what every consumer has passed.
 *
 * Rules:
 * - The outbox holds every committed position that some consumer has not passed yet;
 *   a row is deleted only when its position is at or below every consumer's cursor.
 * - Cursors only move forward (`advance` never lowers one), so a late, stale writer
 *   cannot make a consumer redo work it recorded.
 * - `planned` consumers (deliveries) move their cursor inside the transaction that
 *   records their work (delivery-repository.ts, `commitPlan`); `realtime` moves it after
 *   emitting (emit is at-least-once).
 * - Partitions (stream/stream-partitions.ts): each reads, moves and prunes only the outbox
 *   rows of its own `part`, with its own consumers' cursors.
 */
import type { Knex } from 'knex';
import { yieldToEventLoop } from '../event-loop.js';
import { CONSUMERS_TABLE } from '../../migrations/20261130_003_consumers_and_deliveries.js';
import { CONSUMER_KINDS, consumerName, type ConsumerKind } from '../stream/stream-partitions.js';
import { MESSAGE_COLUMNS, toNumber, type MessageRow } from './message-codec.js';

/** A consumer's cursor name: `realtime`, `deliveries`, or one of another partition (`realtime#2`). */
export type ConsumerName = string;

/** An outbox row with its message (null when retention already removed it). */
export type StreamEntry = { position: number; messageId: string; message: MessageRow | null };

/** What the deliveries consumer needs of a position: whether it has an external part. */
export interface DeliveryWork {
  position: number;
  messageId: string;
  tenantId: string | null;
  scope: string | null;
  kind: string | null;
  priority: string | null;
  createdAt: number | null;
  delivery: unknown;
}

/** Most recipient rows one read returns (recipientsOf, recipientsIfFew): ~5 ms on SQLite. */
export const RECIPIENT_ROWS_PER_READ = 5_000;

/** How recipient reads are sized (StreamRepository.recipientsOf). */
export interface RecipientReadBound {
  /** Most rows one read returns. */
  rows: number;
  /** Most recipients one message has (MAX_RECIPIENTS of the notify API). */
  perMessage: number;
}

/**
 * Whose inbox rows a recipient read returns: `all` of them (the deliveries planner: a
 * user who muted a kind in-app may still want it by email), or `in-app` ones only, muted
 * rows left out (the realtime relay: a muted row is stored, never pushed).
 */
export type RecipientSet = 'all' | 'in-app';

const countValues = (byMessage: Map<string, string[]>) => {
  let n = 0;
  for (const users of byMessage.values()) n += users.length;
  return n;
};

export class StreamRepository {
  constructor(private readonly db: Knex) {}

  /** A partition's outbox rows after `after` (null: from the oldest), with their messages, in order. */
  async readAfter(after: number | null, limit: number, partition = 0): Promise<StreamEntry[]> {
    const rows: ({ outbox_seq: number | string; outbox_message_id: string } & Partial<MessageRow>)[] = await this.db('notify_outbox as o')
      .leftJoin('notify_messages as m', 'm.id', 'o.message_id')
      .where('o.part', partition)
      .whereNotNull('o.seq') // NULL only from an instance older than migration 002, still running
      .modify((q) => (after === null ? q : q.where('o.seq', '>', after)))
      .orderBy('o.seq')
      .limit(limit)
      .select('o.seq as outbox_seq', 'o.message_id as outbox_message_id', ...MESSAGE_COLUMNS.map((c) => `m.${c}`));
    return rows.map((row) => ({
      position: toNumber(row.outbox_seq)!,
      messageId: row.outbox_message_id,
      message: row.id ? (row as MessageRow) : null,
    }));
  }

  /** The external part of a partition's positions after `after`, in order (messages without one included). */
  async readDeliveryWork(after: number, limit: number, partition = 0): Promise<DeliveryWork[]> {
    const rows: {
      seq: number | string;
      message_id: string;
      tenant_id: string | null;
      scope: string | null;
      kind: string | null;
      priority: string | null;
      created_at: number | string | null;
      delivery: unknown;
    }[] =
      await this.db('notify_outbox as o')
        .leftJoin('notify_messages as m', 'm.id', 'o.message_id')
        .where('o.part', partition)
        .whereNotNull('o.seq')
        .where('o.seq', '>', after)
        .orderBy('o.seq')
        .limit(limit)
        .select('o.seq', 'o.message_id', 'm.tenant_id', 'm.scope', 'm.kind', 'm.priority', 'm.created_at', 'm.delivery');
    return rows.map((r) => ({
      position: toNumber(r.seq)!,
      messageId: r.message_id,
      tenantId: r.tenant_id,
      scope: r.scope,
      kind: r.kind,
      priority: r.priority,
      createdAt: toNumber(r.created_at),
      delivery: r.delivery,
    }));
  }

  /**
   * Recipient user ids of personal messages, by message id. With `bound`, no read returns
   * more than `bound.rows` rows: one read when the messages have that few recipients
   * together (the usual case), else `bound.rows / bound.perMessage` messages per read with
   * the event loop turning between reads (a SQLite read is synchronous, and 500
   * notifications of 1,000 recipients are 500,000 rows). `set`: whose rows (RecipientSet).
   */
  async recipientsOf(messageIds: readonly string[], bound?: RecipientReadBound, set: RecipientSet = 'all'): Promise<Map<string, string[]>> {
    if (!bound) return this.readRecipients(messageIds, undefined, set);
    const few = await this.recipientsIfFew(messageIds, bound.rows, set);
    if (few) return few;
    const byMessage = new Map<string, string[]>();
    const perRead = Math.max(1, Math.floor(bound.rows / bound.perMessage));
    for (let i = 0; i < messageIds.length; i += perRead) {
      await yieldToEventLoop();
      for (const [id, users] of await this.readRecipients(messageIds.slice(i, i + perRead), undefined, set)) byMessage.set(id, users);
    }
    return byMessage;
  }

  /** Recipients of personal messages in one read, or null when they are more than `maxRows` together. */
  async recipientsIfFew(messageIds: readonly string[], maxRows: number, set: RecipientSet = 'all'): Promise<Map<string, string[]> | null> {
    const found = await this.readRecipients(messageIds, maxRows + 1, set);
    return countValues(found) <= maxRows ? found : null;
  }

  private async readRecipients(messageIds: readonly string[], limit: number | undefined, set: RecipientSet): Promise<Map<string, string[]>> {
    const byMessage = new Map<string, string[]>();
    if (messageIds.length === 0) return byMessage;
    const rows: { message_id: string; user_id: string }[] = await this.db('notify_inbox')
      .whereIn('message_id', messageIds)
      .modify((q) => (set === 'in-app' ? q.where('muted', false) : q))
      .modify((q) => (limit === undefined ? q : q.limit(limit)))
      .select('message_id', 'user_id');
    for (const r of rows) {
      const list = byMessage.get(r.message_id);
      if (list) list.push(r.user_id);
      else byMessage.set(r.message_id, [r.user_id]);
    }
    return byMessage;
  }

  async cursor(name: ConsumerName): Promise<number> {
    const row = (await this.db(CONSUMERS_TABLE).where({ name }).first('position')) as { position: number | string } | undefined;
    if (!row) throw new Error(`${CONSUMERS_TABLE} has no cursor "${name}": run the migrations`);
    return toNumber(row.position)!;
  }

  /** Moves a cursor forward to `position` (never back). */
  async advance(name: ConsumerName, position: number, now = Date.now()): Promise<void> {
    await this.db(CONSUMERS_TABLE).where({ name }).andWhere('position', '<', position).update({ position, updated_at: now });
  }

  /** Deletes a partition's outbox rows every consumer of it has passed; returns the position pruned through. */
  async prune(partition = 0): Promise<number> {
    const names = CONSUMER_KINDS.map((kind) => consumerName(kind, partition));
    const row = (await this.db(CONSUMERS_TABLE).whereIn('name', names).min({ low: 'position' }).first()) as { low: number | string | null } | undefined;
    const through = toNumber(row?.low ?? null);
    if (through === null) return 0;
    await this.db('notify_outbox').where('part', partition).where('seq', '<=', through).delete();
    return through;
  }

  /** Rows the consumers of `kind` have not passed yet, over `partitions`, and the age of the oldest (metrics). */
  async backlog(kind: ConsumerKind, partitions = 1, now = Date.now()): Promise<{ backlog: number; lagSeconds: number }> {
    let backlog = 0;
    let oldest: number | null = null;
    for (let partition = 0; partition < partitions; partition++) {
      const position = await this.cursor(consumerName(kind, partition));
      const row = await this.db('notify_outbox')
        .where('part', partition)
        .where((q) => q.where('seq', '>', position).orWhereNull('seq'))
        .count<{ backlog: number | string }[]>({ backlog: '*' })
        .min({ oldest: 'created_at' })
        .first<{ backlog: number | string; oldest: number | string | null } | undefined>();
      backlog += toNumber(row?.backlog) ?? 0;
      const first = toNumber(row?.oldest ?? null);
      if (first !== null) oldest = oldest === null ? first : Math.min(oldest, first);
    }
    return { backlog, lagSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
  }
}
