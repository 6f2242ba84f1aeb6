/**
 * The stream's layout: how many partitions its sequence rows are set for, and the move
 * from one layout to another (stream/stream-layout.ts decides when; this does it).
 *
 * A move is one transaction:
 * - The sequence rows are locked and replaced by one row per partition of the new layout,
 *   partition p starting at `base + p`, where `base` is the first multiple of the new
 *   count at or above the highest position ever handed out. So every later position is
 *   above every earlier one, and partitions never hand out the same one. A writer that
 *   still holds the old layout finds no row to reserve from and fails whole.
 * - Outbox rows some consumer has not passed yet move to their tenant's new partition.
 * - Each new partition's consumers start at the lowest cursor their kind had, so no
 *   moved row is skipped. Some rows are handled twice: the realtime relay emits them
 *   again (emits are at-least-once, clients drop duplicates by id) and the planner plans
 *   them again (the deliveries' unique key turns that into nothing).
 */
import type { Knex } from 'knex';
import { SEQUENCE_TABLE } from '../../migrations/20261122_002_write_time_seq.js';
import { CONSUMERS_TABLE } from '../../migrations/20261130_003_consumers_and_deliveries.js';
import { CONSUMER_KINDS, consumerName, partitionOf, sequenceRowName } from '../stream/stream-partitions.js';
import { toNumber } from './message-codec.js';

export interface LayoutMove {
  from: number;
  to: number;
  /** The highest position handed out before the move. */
  head: number;
  /** Outbox rows that changed partition. */
  movedRows: number;
}

/** Outbox rows read (and moved) per query while moving. */
const OUTBOX_PAGE = 5_000;

export class StreamLayoutRepository {
  /** `lockRows`: SELECT … FOR UPDATE (MySQL; SQLite's one writer needs no row locks). */
  constructor(
    private readonly db: Knex,
    private readonly lockRows: boolean,
  ) {}

  /** How many partitions the sequence rows are set for. */
  async partitions(): Promise<number> {
    const rows: { partitions: number | string }[] = await this.db(SEQUENCE_TABLE).select('partitions');
    if (rows.length === 0) throw new Error(`${SEQUENCE_TABLE} has no rows: run the migrations`);
    return toNumber(rows[0]!.partitions)!;
  }

  /** Moves the stream to `count` partitions; null when it already has that layout. */
  async moveTo(count: number, now = Date.now()): Promise<LayoutMove | null> {
    return this.db.transaction(async (trx) => {
      const rows: { name: string; last_seq: number | string; partitions: number | string }[] = await trx(SEQUENCE_TABLE)
        .modify((q) => (this.lockRows ? q.forUpdate() : q))
        .select('name', 'last_seq', 'partitions');
      if (rows.length === 0) throw new Error(`${SEQUENCE_TABLE} has no rows: run the migrations`);
      const from = toNumber(rows[0]!.partitions)!;
      if (from === count && rows.length === count) return null;
      const head = Math.max(...rows.map((r) => toNumber(r.last_seq)!));
      const base = Math.ceil(head / count) * count;
      await trx(SEQUENCE_TABLE).delete();
      await trx(SEQUENCE_TABLE).insert(
        Array.from({ length: count }, (_, p) => ({ name: sequenceRowName(p, count), last_seq: base + p, partitions: count })),
      );
      const movedRows = await this.moveOutbox(trx, count);
      await this.restartCursors(trx, count, now);
      return { from, to: count, head, movedRows };
    });
  }

  private async moveOutbox(trx: Knex.Transaction, count: number): Promise<number> {
    let moved = 0;
    let after = -1;
    for (;;) {
      const page: { seq: number | string; message_id: string; part: number | string; tenant_id: string | null }[] = await trx('notify_outbox as o')
        .leftJoin('notify_messages as m', 'm.id', 'o.message_id')
        .where('o.seq', '>', after)
        .orderBy('o.seq')
        .limit(OUTBOX_PAGE)
        .select('o.seq', 'o.message_id', 'o.part', 'm.tenant_id');
      if (page.length === 0) return moved;
      after = toNumber(page[page.length - 1]!.seq)!;
      const byPartition = new Map<number, string[]>();
      for (const row of page) {
        // A row whose message retention already removed has nothing to emit: partition 0 prunes it.
        const to = row.tenant_id === null ? 0 : partitionOf(row.tenant_id, count);
        if (to === toNumber(row.part)) continue;
        const ids = byPartition.get(to) ?? [];
        ids.push(row.message_id);
        byPartition.set(to, ids);
      }
      for (const [part, ids] of byPartition) {
        await trx('notify_outbox').whereIn('message_id', ids).update({ part });
        moved += ids.length;
      }
    }
  }

  private async restartCursors(trx: Knex.Transaction, count: number, now: number): Promise<void> {
    const cursors: { name: string; position: number | string }[] = await trx(CONSUMERS_TABLE).select('name', 'position');
    for (const kind of CONSUMER_KINDS) {
      const ofKind = cursors.filter((c) => c.name === kind || c.name.startsWith(`${kind}#`));
      if (ofKind.length === 0) throw new Error(`${CONSUMERS_TABLE} has no cursor "${kind}": run the migrations`);
      const low = Math.min(...ofKind.map((c) => toNumber(c.position)!));
      await trx(CONSUMERS_TABLE).whereIn('name', ofKind.map((c) => c.name)).delete();
      await trx(CONSUMERS_TABLE).insert(Array.from({ length: count }, (_, p) => ({ name: consumerName(kind, p), position: low, updated_at: now })));
    }
  }
}
