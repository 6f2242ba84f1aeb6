/**
 * DeliveryWorker — sends queued external deliveries through their channel drivers. One
 * runs on every instance; they share the queue (delivery-repository.ts claims with SKIP
 * LOCKED, so no row is claimed twice).
 *
 * Rules:
 * - Every claimed row ends in a recorded outcome: `sent`; `failed` with the next attempt
 *   time (backoff.ts, Retry-After as a floor); `dead` when retrying cannot help or the
 *   attempts are used up; `suppressed` with a reason when there is nothing to send to;
 *   or back to `pending` without using an attempt when the driver deferred (its own rate
 *   limit). A driver that throws counts as a retry.
 * - A worker that dies mid-send leaves its rows `sending`; any instance's recovery pass
 *   returns them to the queue after the visibility timeout, and they are sent again
 *   (at-least-once; the delivery id is the receiver's dedupe key).
 * - `sent` results are recorded in batches (one UPDATE for many rows): a crash between
 *   send and record is the same case as above.
 * - At most `concurrency` sends in flight per instance; a stop waits for them (bounded by
 *   the drivers' own timeouts), then records what finished.
 * - Per-recipient limits (recipient-limits.ts): a delivery over its recipient's limit is
 *   folded into a digest that goes out when the limit's window ends (`suppressed`, reason
 *   `rate_limited_folded`), never dropped. Digests themselves, urgent notifications and
 *   critical kinds are not limited.
 * - A digest row (store/digest-windows.ts) is sent as one message summarising its members.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { DeliveryMetrics } from '../metrics/delivery-metrics.js';
import type { ClaimedDelivery, Resolution } from '../store/delivery-repository.js';
import type { Store } from '../store/store.js';
import { retryDelayMs, type BackoffOptions } from './backoff.js';
import { outcomeOfError, type ChannelConfig, type ChannelDriver, type ChannelType, type DeliveryJob, type SendOutcome } from './channel.js';
import { WakeSignal } from '../stream/wake-signal.js';
import { toDigestMessage, toExternalMessage } from './external-message.js';
import type { RecipientLimits } from './recipient-limits.js';
import { bypassesPolicies, type PolicySource } from '../policy/policy.js';
import type { Priority } from '../client/types.js';

/** Per-recipient limits and the policies that exempt a notification from them. */
export interface Folding {
  limits: RecipientLimits;
  policies: PolicySource;
}

/** The digest key deliveries over a recipient's limit are folded under. */
export const OVERFLOW_DIGEST_KEY = 'rate_limited';

export interface WorkerOptions {
  concurrency: number;
  claimBatch: number;
  pollMs: number;
  visibilityTimeoutMs: number;
  backoff: BackoffOptions;
}

/** How long `sent` results wait to be recorded together. */
const SENT_FLUSH_MS = 20;

export class DeliveryWorker {
  /** Fits `locked_by` (64): a long hostname (a Kubernetes pod name) is cut, the random part keeps it unique. */
  readonly id = `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private stopped = false;
  private inFlight = new Set<Promise<void>>();
  private readonly signal = new WakeSignal();
  private loop: Promise<void> | null = null;
  private recovery: NodeJS.Timeout | null = null;
  private readonly sent: { ids: string[]; timer: NodeJS.Timeout | null; flushing: Promise<void> } = {
    ids: [],
    timer: null,
    flushing: Promise.resolve(),
  };
  private readonly abort = new AbortController();
  private readonly throttledAt = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly drivers: ReadonlyMap<ChannelType, ChannelDriver>,
    private readonly options: WorkerOptions,
    private readonly metrics: DeliveryMetrics,
    private readonly logger: Logger,
    private readonly folding: Folding | null = null,
  ) {}

  start(): void {
    this.loop ??= this.run();
    const every = Math.max(250, Math.min(this.options.visibilityTimeoutMs / 4, 30_000));
    this.recovery ??= setInterval(() => void this.recover(), every);
    this.recovery.unref();
  }

  /** New rows were queued (on this instance); other instances find them by polling. */
  wake(): void {
    this.signal.raise();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.recovery) clearInterval(this.recovery);
    this.wake();
    await this.loop;
    const grace = setTimeout(() => this.abort.abort(), 8_000);
    await Promise.all(this.inFlight);
    clearTimeout(grace);
    await this.flushSent();
    for (const driver of this.drivers.values()) await driver.close?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const room = this.options.concurrency - this.inFlight.size;
      // Claim in batches: a claim is a transaction, not worth making for every freed slot.
      if (room <= 0 || (this.inFlight.size > 0 && room < Math.ceil(Math.min(this.options.claimBatch, this.options.concurrency) / 2))) {
        await this.waitForWake(this.options.pollMs);
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await this.store.deliveries.claim(this.id, Math.min(room, this.options.claimBatch));
      } catch (error) {
        this.logger.warn({ err: error }, 'delivery claim failed');
        await this.waitForWake(this.options.pollMs * 4);
        continue;
      }
      for (const row of claimed) {
        const task: Promise<void> = this.process(row)
          .catch((error: unknown) => this.logger.error({ err: error, delivery: row.id }, 'delivery record failed'))
          .finally(() => {
            this.inFlight.delete(task);
            this.wake();
          });
        this.inFlight.add(task);
      }
      if (claimed.length === 0) await this.waitForWake(this.options.pollMs);
    }
  }

  private async process(row: ClaimedDelivery): Promise<void> {
    const prepared = this.prepare(row);
    if ('resolution' in prepared) return void (await this.record(row, prepared.resolution, prepared.resolution.status));
    const { job, driver } = prepared;
    if (await this.foldedOverLimit(row)) return;
    const started = process.hrtime.bigint();
    let outcome: SendOutcome;
    try {
      outcome = await driver.send(job, this.abort.signal);
    } catch (error) {
      outcome = outcomeOfError(error);
    }
    // A deferred send made no request: it is neither an attempt nor a send duration.
    if (outcome.status !== 'deferred') {
      this.metrics.attempts.inc({ channel_type: row.channelType });
      this.metrics.sendDuration.observe({ channel_type: row.channelType }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (outcome.status === 'sent') {
      this.metrics.outcomes.inc({ channel_type: row.channelType, outcome: 'sent' });
      return this.queueSent(row.id);
    }
    if (outcome.status === 'permanent' && outcome.subscriptionGone && row.push) {
      await this.store.pushSubscriptions.delete(row.push.id);
      return void (await this.record(row, { status: 'dead', error: outcome.error, reason: 'subscription_gone' }, 'dead'));
    }
    const now = Date.now();
    if (outcome.status === 'deferred') {
      this.throttledAt.set(row.channelType, now);
      this.metrics.throttled.set({ channel_type: row.channelType }, 1);
      return void (await this.record(row, { status: 'deferred', availableAt: now + outcome.retryAfterMs, error: outcome.error }, 'deferred'));
    }
    if (outcome.status === 'permanent') {
      return void (await this.record(row, { status: 'dead', error: outcome.error, reason: 'permanent_error' }, 'dead'));
    }
    if (row.attempts >= row.maxAttempts) {
      return void (await this.record(row, { status: 'dead', error: outcome.error, reason: 'max_attempts' }, 'dead'));
    }
    const delay = retryDelayMs(row.attempts, this.options.backoff, outcome.retryAfterMs);
    await this.record(row, { status: 'failed', availableAt: now + delay, error: outcome.error }, 'retry');
  }

  /** True when `row` went over its recipient's limit and was folded into a digest instead. */
  private async foldedOverLimit(row: ClaimedDelivery): Promise<boolean> {
    if (!this.folding || row.digest || row.recipient === '' || !row.message) return false;
    const { message } = row;
    const snapshot = await this.folding.policies.load(row.tenantId, message.kind, []);
    if (bypassesPolicies({ priority: message.priority as Priority, kindDefaults: snapshot.kindDefaults })) return false;
    const verdict = await this.folding.limits.charge(row.channelType, row.tenantId, row.recipient);
    if (verdict.allowed) return false;
    const fold = { key: OVERFLOW_DIGEST_KEY, closesAt: Date.now() + verdict.resetMs, reason: 'rate_limited_folded' };
    const folded = await retried(() => this.store.deliveries.fold(this.id, row.id, fold));
    if (!folded) this.logger.warn({ delivery: row.id }, 'delivery not folded: the row was recovered by another worker');
    this.metrics.outcomes.inc({ channel_type: row.channelType, outcome: 'folded' });
    return true;
  }

  /** The job for a driver, or the outcome when there is nothing to send. */
  private prepare(row: ClaimedDelivery): { job: DeliveryJob; driver: ChannelDriver } | { resolution: Resolution } {
    const { message, channelConfig } = row;
    if (!message && !row.digest) return { resolution: { status: 'dead', reason: 'message_gone', error: 'the notification was deleted (retention) before it was sent' } };
    if (message && !row.digest && message.expiresAt !== null && message.expiresAt <= Date.now()) return { resolution: { status: 'suppressed', reason: 'expired' } };
    if (!channelConfig) return { resolution: { status: 'dead', reason: 'unknown_channel', error: `channel "${row.channel}" no longer exists` } };
    const driver = this.drivers.get(channelConfig.type as ChannelType);
    if (!driver) {
      return { resolution: { status: 'dead', reason: 'channel_unconfigured', error: `the ${channelConfig.type} channel is not configured on this gateway` } };
    }
    if (channelConfig.type === 'email' && !row.address?.email) return { resolution: { status: 'suppressed', reason: 'no_address' } };
    if (channelConfig.type === 'webpush' && !row.push) return { resolution: { status: 'suppressed', reason: 'no_subscription' } };
    const job: DeliveryJob = {
      deliveryId: row.id,
      attempt: row.attempts,
      tenantId: row.tenantId,
      channelName: row.channel,
      config: { ...(channelConfig.config as object), type: channelConfig.type } as ChannelConfig,
      message: row.digest ? toDigestMessage(row, row.digest) : toExternalMessage({ ...row, message: message! }),
      recipient: row.address && row.recipient ? { userId: row.recipient, ...row.address } : null,
      push: row.push ? { id: row.push.id, endpoint: row.push.endpoint, keys: { p256dh: row.push.p256dh, auth: row.push.auth } } : null,
    };
    return { job, driver };
  }

  private async record(row: ClaimedDelivery, resolution: Resolution, outcome: string): Promise<void> {
    this.metrics.outcomes.inc({ channel_type: row.channelType, outcome });
    const applied = await retried(() => this.store.deliveries.resolve(this.id, row.id, resolution));
    if (!applied) this.logger.warn({ delivery: row.id }, 'delivery outcome not recorded: the row was recovered by another worker');
  }

  private queueSent(id: string): Promise<void> {
    this.sent.ids.push(id);
    this.sent.timer ??= setTimeout(() => void this.flushSent(), SENT_FLUSH_MS);
    return Promise.resolve();
  }

  private flushSent(): Promise<void> {
    if (this.sent.timer) clearTimeout(this.sent.timer);
    this.sent.timer = null;
    const ids = this.sent.ids.splice(0);
    if (ids.length === 0) return this.sent.flushing;
    this.sent.flushing = this.sent.flushing.then(async () => {
      try {
        await retried(() => this.store.deliveries.markSent(this.id, ids));
      } catch (error) {
        // Left `sending`: recovery re-queues them after the visibility timeout (sent twice).
        this.logger.error({ err: error, count: ids.length }, 'recording sent deliveries failed');
      }
    });
    return this.sent.flushing;
  }

  private async recover(): Promise<void> {
    try {
      const released = await this.store.deliveries.recoverStuck(this.options.visibilityTimeoutMs);
      if (released > 0) {
        this.logger.warn({ released }, 'deliveries stuck in sending were returned to the queue');
        this.wake();
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'stuck delivery recovery failed');
    }
    const now = Date.now();
    for (const [type, at] of this.throttledAt) {
      if (now - at > 60_000) {
        this.throttledAt.delete(type);
        this.metrics.throttled.set({ channel_type: type }, 0);
      }
    }
  }

  private waitForWake(ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.signal.wait(ms);
  }

}

/**
 * Recording an outcome races claims on other instances for row locks; MySQL may pick the
 * record as a deadlock victim. A few quick retries keep a sent delivery from waiting out
 * the visibility timeout and being sent again.
 */
async function retried<T>(record: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await record();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt + Math.random() * 25));
    }
  }
}
