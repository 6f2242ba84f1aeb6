/**
 * The loop every consumer of the committed stream runs: hold the consumer's lease, do one
 * batch of work, wait for a wake-up (or the poll interval) when there was none, back off
 * on errors.
 *
 * Rules:
 * - Only the lease holder works; followers retry the lease on their own timer and ignore
 *   commit wake-ups (one leader per consumer, see consumer-lease.ts).
 * - A new lease term calls `onNewTerm` first: the consumer reloads its durable cursor
 *   there, because the previous holder may have moved it.
 * - Woken right after a local commit, by other instances, and by the poll as a fallback
 *   when a wake-up is lost; a wake-up during a batch is not lost (the next wait returns
 *   at once).
 * - A consumer catching up on a backlog runs batch after batch; the event loop turns
 *   between them (a SQLite read is synchronous, and a batch's emits are too).
 * - With a gate (stream/lease-share.ts), the lease is taken only when the gate allows,
 *   and handed back between batches when it asks: the batch is finished and recorded
 *   (`onStop`), the lease released, and the loop goes on as a follower.
 */
import { yieldToEventLoop } from '../event-loop.js';
import type { Logger } from '../logger.js';
import type { ConsumerLease } from './consumer-lease.js';
import type { LeaseGate } from './lease-share.js';
import { WakeSignal } from './wake-signal.js';

export interface ConsumerLoopOptions {
  pollMs: number;
  leaseRetryMs: number;
  /** Spreads partition leases over instances; unset: take the lease whenever it is free. */
  gate?: LeaseGate;
}

export interface ConsumerWork {
  readonly name: string;
  /** Called when this process takes the lease, before its first batch. */
  onNewTerm(): Promise<void> | void;
  /** One batch; returns how many positions it handled (0: nothing to do). */
  step(): Promise<number>;
  /** After the loop ends (stop), before the lease is released. */
  onStop?(): Promise<void>;
}

export class ConsumerLoop {
  private stopped = false;
  private readonly signal = new WakeSignal();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly lease: ConsumerLease,
    private readonly work: ConsumerWork,
    private readonly options: ConsumerLoopOptions,
    private readonly logger: Logger,
  ) {
    lease.onLost(() => this.wake());
    // A leader over its share hands a lease back between batches: don't wait for the poll.
    options.gate?.onOverShare(() => this.wake());
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Called after a commit (here or on another instance). Cheap and idempotent. */
  wake(): void {
    // Followers only retry the lease on their own timer: a commit does not cut that wait.
    this.signal.raise(this.stopped || this.lease.isHeld());
  }

  isLeader(): boolean {
    return this.lease.isHeld();
  }

  /** Finishes the batch in flight, then releases the lease so another instance takes over. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await this.work.onStop?.();
    await this.lease.release();
  }

  private async run(): Promise<void> {
    let failures = 0;
    let inTerm = false;
    while (!this.stopped) {
      try {
        if (!this.lease.isHeld()) {
          inTerm = false;
          const may = this.options.gate?.mayAcquire() ?? true;
          if (!may || !(await this.lease.tryAcquire())) {
            await this.waitForWake(this.options.leaseRetryMs, false);
            continue;
          }
        }
        if (!inTerm) {
          await this.work.onNewTerm();
          inTerm = true;
        }
        const handled = await this.work.step();
        failures = 0;
        if (this.options.gate?.shouldYield()) {
          await this.work.onStop?.();
          await this.lease.release();
          inTerm = false;
          this.logger.info({ consumer: this.work.name }, 'stream consumer lease handed back (more than this instance\'s share)');
          await this.waitForWake(this.options.leaseRetryMs, false);
        } else if (handled === 0) await this.waitForWake(this.options.pollMs, true);
        else await yieldToEventLoop();
      } catch (error) {
        failures += 1;
        this.logger.error({ err: error, consumer: this.work.name }, 'stream consumer batch failed');
        await this.waitForWake(Math.min(this.options.pollMs * 2 ** failures, 10_000), false);
      }
    }
  }

  private waitForWake(ms: number, consumeWake: boolean): Promise<void> {
    return this.stopped ? Promise.resolve() : this.signal.wait(ms, consumeWake);
  }
}
