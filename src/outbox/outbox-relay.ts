/**
 * OutboxRelay — turns committed outbox rows into Socket.IO emits, in commit order.
 *
 * Rules:
 * - Only the lease holder relays (see relay-lease.ts); on SQLite that is the one process.
 * - Sequence before emit: one transaction takes unsequenced outbox rows (ordered by
 *   outbox id, which is only roughly commit order) and gives each a `seq` one above the
 *   current maximum, on the message, its inbox rows and the outbox row. A row that
 *   commits late (lower id, later commit) is simply not visible yet and gets a higher
 *   seq in a later batch. Because a position is committed before anything is emitted,
 *   every id a client has ever seen resolves to a position, and replay (`seq > X`)
 *   never skips a late committer.
 * - Emit, then delete the outbox row. A crash between the two leaves rows with a seq
 *   and no delete; the next holder re-emits those first, in seq order, with the same
 *   seq. Delivery is therefore at-least-once; clients drop duplicates by id.
 * - Woken right after a local commit, by other instances through the adapter, and by a
 *   poll every RELAY_POLL_MS as the fallback when a wake-up is lost.
 */
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';
import { MESSAGE_COLUMNS, toNumber, toWire, type MessageRow, type WireNotification } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import type { RelayLease } from './relay-lease.js';

export interface RelayOptions {
  batchSize: number;
  pollMs: number;
  leaseRetryMs: number;
}

export interface Publication {
  seq: number;
  rooms: string[];
  notification: WireNotification;
  expiresAt: number | null;
}

export interface RelayHooks {
  /** Test seam: after positions are committed, before anything is emitted. */
  beforeEmit?: (batch: readonly Publication[]) => Promise<void>;
  /** Test seam: after emitting, before the outbox rows are deleted. */
  afterEmit?: (batch: readonly Publication[]) => Promise<void>;
}

interface OutboxRow {
  id: number | string;
  message_id: string;
  seq: number | string | null;
}

export const userRoom = (tenantId: string, userId: string) => `user:${tenantId}:${userId}`;
export const tenantRoom = (tenantId: string) => `tenant:${tenantId}`;

export class OutboxRelay {
  private stopped = false;
  private woken = false;
  private wakeWaiter: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly batchListeners: (() => void)[] = [];
  /** Sequenced-but-undeleted rows exist only after a takeover or a failed batch. */
  private checkPending = true;

  constructor(
    private readonly store: Store,
    private readonly lease: RelayLease,
    private readonly publish: (publication: Publication) => void,
    private readonly options: RelayOptions,
    private readonly logger: Logger,
    private readonly hooks: RelayHooks = {},
  ) {
    lease.onLost(() => this.wake());
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Called after a commit (here or on another instance). Cheap and idempotent. */
  wake(): void {
    this.woken = true;
    // Followers ignore commit wake-ups: they only retry the lease on their own timer.
    if (this.stopped || this.lease.isHeld()) this.wakeWaiter?.();
  }

  onBatchPublished(listener: () => void): void {
    this.batchListeners.push(listener);
  }

  isLeader(): boolean {
    return this.lease.isHeld();
  }

  /** Finishes the batch in flight, then releases the lease so another instance takes over. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await this.lease.release();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      if (!this.lease.isHeld()) {
        if (!(await this.lease.tryAcquire())) {
          await this.waitForWake(this.options.leaseRetryMs, false);
          continue;
        }
        this.checkPending = true;
      }
      try {
        const published = await this.relayOnce();
        failures = 0;
        if (published === 0) await this.waitForWake(this.options.pollMs, true);
      } catch (error) {
        failures += 1;
        this.checkPending = true;
        this.logger.error({ err: error }, 'outbox relay batch failed');
        await this.waitForWake(Math.min(this.options.pollMs * 2 ** failures, 10_000), false);
      }
    }
  }

  /** One batch: re-emit rows a dead holder sequenced, else sequence and emit new ones. */
  async relayOnce(): Promise<number> {
    if (!this.lease.isHeld()) return 0;
    let rows: OutboxRow[] = [];
    if (this.checkPending) {
      rows = await this.pendingSequenced();
      this.checkPending = rows.length > 0;
    }
    if (rows.length === 0) rows = await this.sequenceNewRows();
    if (rows.length === 0 || !this.lease.isHeld()) return 0;

    const batch = await this.loadPublications(rows);
    await this.hooks.beforeEmit?.(batch);
    const now = Date.now();
    for (const publication of batch) {
      if (!isExpired(publication, now)) this.publish(publication);
    }
    await this.hooks.afterEmit?.(batch);
    await this.store.db('notify_outbox')
      .whereIn('id', rows.map((r) => r.id))
      .delete();
    for (const listener of this.batchListeners) listener();
    return rows.length;
  }

  private async pendingSequenced(): Promise<OutboxRow[]> {
    return this.store.db('notify_outbox')
      .whereNotNull('seq')
      .orderBy('seq')
      .limit(this.options.batchSize)
      .select('id', 'message_id', 'seq');
  }

  private async sequenceNewRows(): Promise<OutboxRow[]> {
    return this.store.db.transaction(async (trx) => {
      const rows: OutboxRow[] = await trx('notify_outbox')
        .whereNull('seq')
        .orderBy('id')
        .limit(this.options.batchSize)
        .select('id', 'message_id', 'seq');
      if (rows.length === 0) return rows;
      const top = await trx('notify_messages').max<{ top: number | string | null }>('seq as top').first();
      let seq = toNumber(top?.top) ?? 0;
      for (const row of rows) row.seq = ++seq;
      await assignSeqs(trx, rows as SequencedRow[]);
      return rows;
    });
  }

  private async loadPublications(rows: OutboxRow[]): Promise<Publication[]> {
    const ids = rows.map((r) => r.message_id);
    const messages: MessageRow[] = await this.store.db('notify_messages').whereIn('id', ids).select(MESSAGE_COLUMNS);
    const recipients: { message_id: string; user_id: string }[] = await this.store.db('notify_inbox')
      .whereIn('message_id', ids)
      .select('message_id', 'user_id');
    const byMessage = new Map<string, string[]>();
    for (const r of recipients) {
      const list = byMessage.get(r.message_id) ?? [];
      list.push(r.user_id);
      byMessage.set(r.message_id, list);
    }
    const messageById = new Map(messages.map((m) => [m.id, m]));
    return rows.flatMap((row) => {
      const message = messageById.get(row.message_id);
      if (!message) return [];
      const rooms =
        message.scope === 'tenant'
          ? [tenantRoom(message.tenant_id)]
          : (byMessage.get(message.id) ?? []).map((u) => userRoom(message.tenant_id, u));
      const expiresAt = toNumber(message.expires_at);
      return [{ seq: toNumber(row.seq) ?? 0, rooms, notification: toWire(message), expiresAt }];
    });
  }

  private waitForWake(ms: number, consumeWake: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (consumeWake && this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeWaiter = null;
        if (consumeWake) self.woken = false;
        resolve();
      }
      this.wakeWaiter = done;
    });
  }
}

type SequencedRow = OutboxRow & { seq: number };

/** Three statements per batch (CASE maps each row to its seq), whatever the batch size. */
async function assignSeqs(trx: Knex.Transaction, rows: SequencedRow[]): Promise<void> {
  const byMessage = (column: string) =>
    trx.raw(`CASE ${column} ${rows.map(() => 'WHEN ? THEN ?').join(' ')} END`, rows.flatMap((r) => [r.message_id, r.seq]));
  const messageIds = rows.map((r) => r.message_id);
  await trx('notify_messages').whereIn('id', messageIds).update({ seq: byMessage('id') });
  await trx('notify_inbox').whereIn('message_id', messageIds).update({ seq: byMessage('message_id') });
  await trx('notify_outbox').whereIn('message_id', messageIds).update({ seq: byMessage('message_id') });
}

function isExpired(publication: Publication, now: number): boolean {
  return publication.expiresAt != null && publication.expiresAt <= now;
}
