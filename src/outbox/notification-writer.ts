/**
 * NotificationWriter — the only way a notification enters the system.
 *
 * Rules:
 * - One transaction writes the message row, one inbox row per recipient user and one
 *   outbox row. Either all of them commit or none does; the caller answers only after
 *   the commit, so a 2xx always means "durably stored and will be published".
 * - The dedupe key is unique per tenant in the schema. A repeat (also a concurrent one
 *   that loses the race on the unique index) writes nothing and returns the first id.
 * - Ids are UUIDv7 generated here, but ids are NOT commit-ordered. Ordering for delivery
 *   and replay is the position (`seq`) each row gets in its transaction: the first
 *   statement reserves a block of positions and keeps the sequence row locked until
 *   COMMIT, so writes commit in position order and a reader that has seen position N has
 *   seen every committed position below it (migrations/…_002_write_time_seq.ts).
 *   Everything slow (dedupe lookups, building rows) happens before that statement.
 * - After commit the relay is woken (`onCommitted`, with what was committed: urgent
 *   notifications are emitted from there at once, realtime/out-of-band.ts); if that
 *   wake-up is lost the relay's poll picks the row up anyway.
 * - `writeBatch` is group commit: many notifications, one transaction, multi-row
 *   inserts. Repeated dedupe keys inside the batch collapse onto the first; keys already
 *   stored answer deduped. If the shared transaction fails for a reason other than an
 *   outage (a dedupe race with another instance, one bad row) every item is retried on
 *   its own, so a failing item never fails its neighbours.
 * - Partitions (stream/stream-partitions.ts): a transaction writes rows of one partition
 *   only and locks only that partition's sequence row. A write whose layout is no longer
 *   the stream's (another process moved it) fails whole and answers StreamLayoutChanged.
 */
import type { DeliverySpec, Priority, Scope } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import { partitionOf, StreamLayoutChanged, type StreamPartition } from '../stream/stream-partitions.js';
import { newMessageId } from './message-id.js';
import { PreparedWrite, type PlannedRow } from './prepared-inserts.js';

export interface NotificationInput {
  tenantId: string;
  kind: string;
  scope: Scope;
  /** Distinct recipient user ids; empty for scope "tenant" and "topic". */
  userIds: readonly string[];
  /** Scope "topic": distinct topics of the tenant; stored once, no inbox rows. */
  topics?: readonly string[];
  /** Scope "segment": distinct segments of the tenant; stored once, members found at delivery. */
  segments?: readonly string[];
  title: string;
  body?: string;
  data?: Record<string, unknown>;
  priority: Priority;
  dedupeKey?: string;
  ttlSeconds?: number;
  /** External channels (planned by the deliveries consumer after commit). */
  delivery?: DeliverySpec;
  /** Sent to these devices of its one recipient only (devices/device-targets.ts); unset: every device. */
  devices?: readonly string[];
  /** Recipients whose inbox row is stored muted (their preferences): never pushed to them. */
  mutedUserIds?: readonly string[];
}

/** What one transaction committed: new notifications (no dedupe hits), in position order. */
export interface CommittedWrite {
  notifications: readonly { id: string; input: NotificationInput }[];
  /** Their `created_at` (epoch ms). */
  createdAt: number;
}

export type WriteResult =
  | { id: string; deduped: false; recipients: number }
  | { id: string; deduped: true };

export type BatchOutcome = { ok: WriteResult } | { error: unknown };

export interface WriterHooks {
  /**
   * Test seam: runs inside the transaction after all inserts, before COMMIT. Setting it
   * makes MySQL writes take the ordinary transaction path instead of one query.
   */
  beforeCommit?: (id: string) => Promise<void>;
  /** Test seam: choose the id (to construct "lower id commits later" on SQLite). */
  newId?: () => string;
}

/** The stream layout this writer writes in, read at start (stream/stream-layout.ts). */
export interface WriterLayout {
  partitions: number;
  /** Called when a write found the stream moved to another layout: this process must restart. */
  onLayoutChanged?: (change: StreamLayoutChanged) => void;
}

export class NotificationWriter {
  constructor(
    private readonly store: Store,
    private readonly onCommitted: (committed: CommittedWrite) => void,
    private readonly hooks: WriterHooks = {},
    private readonly layout: WriterLayout = { partitions: 1 },
  ) {}

  /** The partition a tenant's notifications are written in. */
  partitionOf(tenantId: string): StreamPartition {
    return { index: partitionOf(tenantId, this.layout.partitions), count: this.layout.partitions };
  }

  async write(input: NotificationInput, now = Date.now()): Promise<WriteResult> {
    if (input.dedupeKey) {
      const existing = await this.findByDedupeKey(input.tenantId, input.dedupeKey);
      if (existing) return { id: existing, deduped: true };
    }
    const id = this.hooks.newId?.() ?? newMessageId();
    try {
      const { statements } = new PreparedWrite([{ id, input }], now, this.store.dialect.positions, this.partitionOf(input.tenantId));
      const { beforeCommit } = this.hooks;
      await this.store.writes.run(statements, beforeCommit && (() => beforeCommit(id)));
    } catch (error) {
      if (input.dedupeKey && this.store.dialect.isUniqueViolation(error)) {
        const winner = await this.findByDedupeKey(input.tenantId, input.dedupeKey);
        if (winner) return { id: winner, deduped: true };
      }
      throw await this.layoutChangeOr(error);
    }
    this.onCommitted({ notifications: [{ id, input }], createdAt: now });
    return { id, deduped: false, recipients: input.userIds.length };
  }

  /**
   * Group commit: one transaction for all of `inputs` (one per partition when they span
   * several, one after the other); one outcome per input, in order.
   */
  async writeBatch(inputs: readonly NotificationInput[], now = Date.now()): Promise<BatchOutcome[]> {
    if (this.layout.partitions > 1) {
      const byPartition = new Map<number, number[]>();
      inputs.forEach((input, i) => {
        const p = partitionOf(input.tenantId, this.layout.partitions);
        const list = byPartition.get(p);
        if (list) list.push(i);
        else byPartition.set(p, [i]);
      });
      if (byPartition.size > 1) {
        const outcomes: BatchOutcome[] = new Array(inputs.length);
        for (const indexes of byPartition.values()) {
          const results = await this.writePartitionBatch(indexes.map((i) => inputs[i]!), now);
          indexes.forEach((i, k) => (outcomes[i] = results[k]!));
        }
        return outcomes;
      }
    }
    return this.writePartitionBatch(inputs, now);
  }

  private async writePartitionBatch(inputs: readonly NotificationInput[], now: number): Promise<BatchOutcome[]> {
    const outcomes: (BatchOutcome | undefined)[] = new Array(inputs.length);
    const stored = await this.storedDedupeKeys(inputs);
    const firstByKey = new Map<string, PlannedRow>();
    const planned: PlannedRow[] = [];
    const repeats: { index: number; of: PlannedRow }[] = [];
    inputs.forEach((input, index) => {
      const key = input.dedupeKey ? dedupeKeyOf(input.tenantId, input.dedupeKey) : null;
      const existing = key ? stored.get(key) : undefined;
      if (existing) return void (outcomes[index] = { ok: { id: existing, deduped: true } });
      const first = key ? firstByKey.get(key) : undefined;
      if (first) return void repeats.push({ index, of: first });
      const row = { id: this.hooks.newId?.() ?? newMessageId(), input };
      if (key) firstByKey.set(key, row);
      planned.push(row);
      outcomes[index] = { ok: { id: row.id, deduped: false, recipients: input.userIds.length } };
    });
    if (planned.length > 0) {
      try {
        const { statements } = new PreparedWrite(planned, now, this.store.dialect.positions, this.partitionOf(planned[0]!.input.tenantId));
        const { beforeCommit } = this.hooks;
        await this.store.writes.run(
          statements,
          beforeCommit && (async () => {
            for (const row of planned) await beforeCommit(row.id);
          }),
        );
      } catch (failure) {
        const error = await this.layoutChangeOr(failure);
        if (this.store.dialect.isUnavailable(error)) return inputs.map(() => ({ error }));
        return this.writeEachAlone(inputs, now);
      }
      this.onCommitted({ notifications: planned, createdAt: now });
    }
    for (const { index, of } of repeats) outcomes[index] = { ok: { id: of.id, deduped: true } };
    return outcomes as BatchOutcome[];
  }

  /**
   * `error`, or StreamLayoutChanged when the stream's layout is no longer this writer's
   * (its reservation found no row). Read only on a failed write.
   */
  private async layoutChangeOr(error: unknown): Promise<unknown> {
    if (this.store.dialect.isUnavailable(error) || this.store.dialect.isUniqueViolation(error)) return error;
    const now = await this.store.streamLayout.partitions().catch(() => this.layout.partitions);
    if (now === this.layout.partitions) return error;
    const change = new StreamLayoutChanged(this.layout.partitions, now);
    this.layout.onLayoutChanged?.(change);
    return change;
  }

  private async writeEachAlone(inputs: readonly NotificationInput[], now: number): Promise<BatchOutcome[]> {
    const outcomes: BatchOutcome[] = [];
    for (const input of inputs) {
      try {
        outcomes.push({ ok: await this.write(input, now) });
      } catch (error) {
        outcomes.push({ error });
      }
    }
    return outcomes;
  }

  /** Dedupe keys of `inputs` already stored, as `tenant\u0000key` → id. */
  private async storedDedupeKeys(inputs: readonly NotificationInput[]): Promise<Map<string, string>> {
    const keys = inputs.filter((i) => i.dedupeKey).map((i) => ({ tenantId: i.tenantId, dedupeKey: i.dedupeKey! }));
    const found = new Map<string, string>();
    for (const row of await this.store.messages.findByDedupeKeys(keys)) found.set(dedupeKeyOf(row.tenantId, row.dedupeKey), row.id);
    return found;
  }

  private findByDedupeKey(tenantId: string, dedupeKey: string): Promise<string | undefined> {
    return this.store.messages.findByDedupeKey(tenantId, dedupeKey);
  }
}

const dedupeKeyOf = (tenantId: string, dedupeKey: string) => `${tenantId}\u0000${dedupeKey}`;
