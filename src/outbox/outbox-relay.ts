/**
 * OutboxRelay — the `realtime` consumer of the committed stream: turns outbox rows into
 * Socket.IO emits, in commit order.
 *
 * Rules:
 * - Only the lease holder relays (consumer-loop.ts); on SQLite that is the one process.
 * - Every outbox row carries the position its writer reserved (notification-writer.ts):
 *   writes commit in position order, so what the relay can see is always every committed
 *   position, and reading `ORDER BY seq` is commit order. The relay never writes a
 *   position.
 * - Emit, wait until the emits left the process (a publish still queued in the Redis
 *   client is not emitted yet), then move the durable `realtime` cursor past the batch
 *   and prune what every consumer has passed (stream-repository.ts). The holder
 *   remembers the last position it emitted and reads past it, so cursor and prune run in
 *   the background, off the path of the next batch (one at a time, coalesced). A crash
 *   before the cursor moved leaves those positions to the next holder, which starts from
 *   the stored cursor and emits them again, in the same order. Delivery is therefore
 *   at-least-once; clients drop duplicates by id.
 * - A batch never holds the event loop for long: recipients are read in bounded reads
 *   (500 notifications of 1,000 recipients are 500,000 rows) and the emits run in slices
 *   of SLICE_MS, the loop turning between them. Order is unchanged: one emit after the
 *   other, in position order.
 * - With STREAM_PARTITIONS, one relay per partition, each with its own lease and cursor
 *   (`realtime#p`): a tenant is in one partition, so its order is one relay's order.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TimeSlice } from '../event-loop.js';
import { MAX_RECIPIENTS } from '../http/notify-schema.js';
import type { Logger } from '../logger.js';
import { toNumber, toWire, type WireNotification } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import { RECIPIENT_ROWS_PER_READ, type StreamEntry } from '../store/stream-repository.js';
import type { ConsumerLease } from '../stream/consumer-lease.js';
import { targetRooms, userRoom } from '../realtime/rooms.js';
import { SegmentExpansion } from '../segments/segment-expansion.js';
import { ConsumerLoop, type ConsumerLoopOptions } from '../stream/consumer-loop.js';
import { consumerName } from '../stream/stream-partitions.js';

export interface RelayOptions extends ConsumerLoopOptions {
  batchSize: number;
  /** The stream partition this relay emits (stream/stream-partitions.ts); 0 when unset. */
  partition?: number;
}

export interface Publication {
  rooms: string[];
  notification: WireNotification;
  /** The storage tenant key: which app's namespace the rooms are in (apps/app-scope.ts). */
  tenantKey: string;
  expiresAt: number | null;
}

/** Where the relay's emits go (realtime/relay-emits.ts). */
export interface RelayPublisher {
  /** One publication, in position order. */
  emit(publication: Publication): void;
  /**
   * After the batch's emits, before the cursor moves: every publication emitted, in order.
   * The cursor moves only once a returned promise resolved (the emits left the process).
   */
  emitted?(published: readonly Publication[]): Promise<void> | void;
}

export interface RelayHooks {
  /** Test seam: after the batch is read, before anything is emitted. */
  beforeEmit?: (batch: readonly Publication[]) => Promise<void>;
  /** Test seam: after emitting, before the cursor moves. */
  afterEmit?: (batch: readonly Publication[]) => Promise<void>;
}

const recipientReads = { rows: RECIPIENT_ROWS_PER_READ, perMessage: MAX_RECIPIENTS };
/**
 * Cursor and prune are two committed writes (and a read) on the store: under load they
 * trail the emits by up to this, and a takeover re-emits that much more at most.
 */
const RECORD_EVERY_MS = 100;


export class OutboxRelay {
  private readonly loop: ConsumerLoop;
  private readonly batchListeners: (() => void)[] = [];
  /** Last position emitted in this lease term. */
  private emittedThrough = 0;
  private readonly recording = { through: 0, running: null as Promise<void> | null };
  private readonly partition: number;
  private readonly cursorName: string;

  constructor(
    private readonly store: Store,
    lease: ConsumerLease,
    private readonly publisher: RelayPublisher,
    private readonly options: RelayOptions,
    private readonly logger: Logger,
    private readonly hooks: RelayHooks = {},
  ) {
    this.partition = options.partition ?? 0;
    this.cursorName = consumerName('realtime', this.partition);
    this.loop = new ConsumerLoop(
      lease,
      {
        name: this.cursorName,
        onNewTerm: async () => {
          // What the last holder emitted but did not record is emitted again.
          await this.recording.running;
          this.emittedThrough = await this.store.stream.cursor(this.cursorName);
        },
        step: () => this.relayOnce(),
        onStop: async () => {
          await this.recording.running;
        },
      },
      options,
      logger,
    );
  }

  start(): void {
    this.loop.start();
  }

  /** Called after a commit (here or on another instance). Cheap and idempotent. */
  wake(): void {
    this.loop.wake();
  }

  onBatchPublished(listener: () => void): void {
    this.batchListeners.push(listener);
  }

  isLeader(): boolean {
    return this.loop.isLeader();
  }

  /** Finishes the batch in flight, records it, then releases the lease. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One batch: the next positions after the last one emitted, in order. */
  private async relayOnce(): Promise<number> {
    const entries = await this.store.stream.readAfter(this.emittedThrough, this.options.batchSize, this.partition);
    if (entries.length === 0 || !this.loop.isLeader()) return 0;

    const batch = await this.toPublications(entries);
    await this.hooks.beforeEmit?.(batch);
    const now = Date.now();
    const slice = new TimeSlice();
    const published: Publication[] = [];
    for (const publication of batch) {
      if (!isExpired(publication, now)) {
        this.publisher.emit(publication);
        published.push(publication);
      }
      await slice.pause();
    }
    await this.publisher.emitted?.(published);
    await this.hooks.afterEmit?.(batch);
    this.emittedThrough = entries[entries.length - 1]!.position;
    this.record(this.emittedThrough);
    for (const listener of this.batchListeners) listener();
    return entries.length;
  }

  /**
   * Moves the durable cursor to `through` and prunes: one at a time, later calls
   * coalesced, and under load at most once per RECORD_EVERY_MS.
   */
  private record(through: number): void {
    this.recording.through = Math.max(this.recording.through, through);
    if (this.recording.running) return;
    this.recording.running = (async () => {
      let done = 0;
      let started = 0;
      while (done < this.recording.through) {
        if (done > 0) await delay(started + RECORD_EVERY_MS - Date.now());
        started = Date.now();
        const target = this.recording.through;
        try {
          await this.store.stream.advance(this.cursorName, target);
          await this.store.stream.prune(this.partition);
        } catch (error) {
          // Left for the next batch (or the next holder, which re-emits from the cursor).
          this.logger.warn({ err: error }, 'realtime cursor update failed');
          break;
        }
        done = target;
      }
      this.recording.running = null;
    })();
  }

  private async toPublications(entries: StreamEntry[]): Promise<Publication[]> {
    const personal = entries.filter((e) => e.message?.scope === 'user').map((e) => e.messageId);
    // Muted rows are stored, never pushed: their users are left out of the rooms.
    const byMessage = await this.store.stream.recipientsOf(personal, recipientReads, 'in-app');
    const segments = new SegmentExpansion(this.store.segments);
    const publications: Publication[] = [];
    const slice = new TimeSlice();
    for (const { message } of entries) {
      if (message === null) continue;
      const notification = toWire(message);
      if (message.scope === 'segment') {
        // Expanded now, at delivery: one emit per page of members (segments/segment-expansion.ts).
        const pages = await segments.membersOf(message.tenant_id, notification.segments ?? []);
        for (const members of pages.length > 0 ? pages : [[]]) {
          const rooms = members.map((u) => userRoom(message.tenant_id, u));
          publications.push({ rooms, notification, tenantKey: message.tenant_id, expiresAt: toNumber(message.expires_at) });
        }
        continue;
      }
      const rooms = targetRooms({
        scope: message.scope,
        tenantKey: message.tenant_id,
        topics: notification.topics,
        devices: notification.devices,
        recipients: byMessage.get(message.id) ?? [],
      });
      publications.push({ rooms, notification, tenantKey: message.tenant_id, expiresAt: toNumber(message.expires_at) });
      await slice.pause();
    }
    return publications;
  }
}

function isExpired(publication: Publication, now: number): boolean {
  return publication.expiresAt != null && publication.expiresAt <= now;
}
