/**
 * OutboxRelay — turns committed outbox rows into Socket.IO emits, in commit order.
 *
 * Rules:
 * - Only the lease holder relays (see relay-lease.ts); on SQLite that is the one process.
 * - Every outbox row carries the position its writer reserved (notification-writer.ts):
 *   writes commit in position order, so what the relay can see is always every committed
 *   position, and reading `ORDER BY seq` is commit order. A row that commits late simply
 *   has a higher position. The relay never writes a position.
 * - Emit, then delete the outbox rows. The holder remembers the last position it
 *   emitted and reads past it, so the delete runs in the background, off the path of the
 *   next batch (one at a time, coalesced). A crash before a delete leaves rows behind;
 *   the next holder starts from the outbox and emits them again, in the same order.
 *   Delivery is therefore at-least-once; clients drop duplicates by id.
 * - Woken right after a local commit, by other instances through the adapter, and by a
 *   poll every RELAY_POLL_MS as the fallback when a wake-up is lost.
 */
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
  rooms: string[];
  notification: WireNotification;
  expiresAt: number | null;
}

export interface RelayHooks {
  /** Test seam: after the batch is read, before anything is emitted. */
  beforeEmit?: (batch: readonly Publication[]) => Promise<void>;
  /** Test seam: after emitting, before the outbox rows are deleted. */
  afterEmit?: (batch: readonly Publication[]) => Promise<void>;
}

/** An outbox row with its message (null when retention already removed it). */
type OutboxEntry = { outbox_seq: number | string; outbox_message_id: string } & ({ id: string } & MessageRow | { id: null });

export const userRoom = (tenantId: string, userId: string) => `user:${tenantId}:${userId}`;
export const tenantRoom = (tenantId: string) => `tenant:${tenantId}`;

export class OutboxRelay {
  private stopped = false;
  private woken = false;
  private wakeWaiter: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly batchListeners: (() => void)[] = [];
  /** Last position emitted in this lease term; null = start from the outbox. */
  private emittedThrough: number | null = null;
  private readonly pruning = { through: 0, running: null as Promise<void> | null };

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
    await this.pruning.running;
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
        this.emittedThrough = null; // a new term: what the last holder left is re-emitted
      }
      try {
        const published = await this.relayOnce();
        failures = 0;
        if (published === 0) await this.waitForWake(this.options.pollMs, true);
      } catch (error) {
        failures += 1;
        this.logger.error({ err: error }, 'outbox relay batch failed');
        await this.waitForWake(Math.min(this.options.pollMs * 2 ** failures, 10_000), false);
      }
    }
  }

  /** One batch: the next positions after the last one emitted, in order; deleted later. */
  async relayOnce(): Promise<number> {
    if (!this.lease.isHeld()) return 0;
    const after = this.emittedThrough;
    const entries: OutboxEntry[] = await this.store.db('notify_outbox as o')
      .leftJoin('notify_messages as m', 'm.id', 'o.message_id')
      .whereNotNull('o.seq') // NULL only from an instance older than migration 002, still running
      .modify((q) => (after === null ? q : q.where('o.seq', '>', after)))
      .orderBy('o.seq')
      .limit(this.options.batchSize)
      .select('o.seq as outbox_seq', 'o.message_id as outbox_message_id', ...MESSAGE_COLUMNS.map((c) => `m.${c}`));
    if (entries.length === 0 || !this.lease.isHeld()) return 0;

    const batch = await this.toPublications(entries);
    await this.hooks.beforeEmit?.(batch);
    const now = Date.now();
    for (const publication of batch) {
      if (!isExpired(publication, now)) this.publish(publication);
    }
    await this.hooks.afterEmit?.(batch);
    this.emittedThrough = toNumber(entries[entries.length - 1]!.outbox_seq);
    this.prune(this.emittedThrough!);
    for (const listener of this.batchListeners) listener();
    return entries.length;
  }

  /** Deletes emitted rows up to `through`: one DELETE at a time, later calls coalesced. */
  private prune(through: number): void {
    this.pruning.through = Math.max(this.pruning.through, through);
    if (this.pruning.running) return;
    this.pruning.running = (async () => {
      let done = 0;
      while (done < this.pruning.through) {
        const target = this.pruning.through;
        try {
          await this.store.db('notify_outbox').where('seq', '<=', target).delete();
        } catch (error) {
          // Left for the next batch's prune (or the next holder, which re-emits them).
          this.logger.warn({ err: error }, 'outbox prune failed');
          break;
        }
        done = target;
      }
      this.pruning.running = null;
    })();
  }

  private async toPublications(entries: OutboxEntry[]): Promise<Publication[]> {
    const personal = entries.filter((e) => e.id !== null && e.scope !== 'tenant').map((e) => e.outbox_message_id);
    const recipients: { message_id: string; user_id: string }[] =
      personal.length === 0 ? [] : await this.store.db('notify_inbox').whereIn('message_id', personal).select('message_id', 'user_id');
    const byMessage = new Map<string, string[]>();
    for (const r of recipients) {
      const list = byMessage.get(r.message_id) ?? [];
      list.push(r.user_id);
      byMessage.set(r.message_id, list);
    }
    return entries.flatMap((entry) => {
      if (entry.id === null) return [];
      const message = entry as OutboxEntry & MessageRow;
      const rooms =
        message.scope === 'tenant'
          ? [tenantRoom(message.tenant_id)]
          : (byMessage.get(message.id) ?? []).map((u) => userRoom(message.tenant_id, u));
      const expiresAt = toNumber(message.expires_at);
      return [{ rooms, notification: toWire(message), expiresAt }];
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

function isExpired(publication: Publication, now: number): boolean {
  return publication.expiresAt != null && publication.expiresAt <= now;
}
