/**
 * OutboxRelay — turns committed outbox rows into Socket.IO emits, in commit order.
 *
 * Rules:
 * - Only the lease holder relays (see relay-lease.ts); on SQLite that is the one process.
 * - Every outbox row carries the position its writer reserved (notification-writer.ts):
 *   writes commit in position order, so what the relay can see is always every committed
 *   position, and reading `ORDER BY seq` is commit order. A row that commits late simply
 *   has a higher position. The relay never writes a position.
 * - Emit, then delete the outbox rows. A crash between the two leaves them behind; the
 *   next holder emits them again, in the same order. Delivery is therefore
 *   at-least-once; clients drop duplicates by id.
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
  seq: number;
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

  /** One batch: the lowest positions still in the outbox, emitted in order, then deleted. */
  async relayOnce(): Promise<number> {
    if (!this.lease.isHeld()) return 0;
    const rows: OutboxRow[] = await this.store.db('notify_outbox')
      .whereNotNull('seq') // NULL only from an instance older than migration 002, still running
      .orderBy('seq')
      .limit(this.options.batchSize)
      .select('id', 'message_id', 'seq');
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

function isExpired(publication: Publication, now: number): boolean {
  return publication.expiresAt != null && publication.expiresAt <= now;
}
