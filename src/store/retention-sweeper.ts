/**
 * Retention: the inbox keeps history for INBOX_RETENTION_DAYS (the notification center),
 * replay needs REPLAY_RETENTION_HOURS; a message older than both, or whose ttl expired,
 * is deleted with its inbox rows. Deletes run in small batches so no statement holds
 * locks for long, and only on the relay lease holder so instances do not compete.
 * Rows still in the outbox (not yet published) are never touched.
 */
import type { Knex } from 'knex';
import type { Store } from './store.js';
import type { Logger } from '../logger.js';
import type { ConsumerLease } from '../stream/consumer-lease.js';

export interface RetentionOptions {
  inboxRetentionMs: number;
  replayRetentionMs: number;
  /** Audit rows (notify_audit) older than this are deleted; unset: kept. */
  auditRetentionMs?: number;
  batchSize?: number;
  /** Upper bound of batches per sweep, so one sweep cannot run for minutes. */
  maxBatches?: number;
}

export async function sweepRetention(db: Knex, options: RetentionOptions, now = Date.now()): Promise<number> {
  const cutoff = now - Math.max(options.inboxRetentionMs, options.replayRetentionMs);
  const batchSize = options.batchSize ?? 500;
  let deleted = 0;
  for (let batch = 0; batch < (options.maxBatches ?? 20); batch++) {
    const ids: string[] = await db('notify_messages as m')
      .where((q) => q.where('m.created_at', '<', cutoff).orWhere('m.expires_at', '<', now))
      .whereNotExists(db('notify_outbox as o').whereRaw('o.message_id = m.id').select(db.raw('1')))
      .limit(batchSize)
      .pluck('m.id');
    if (ids.length === 0) break;
    await db.transaction(async (trx) => {
      await trx('notify_inbox').whereIn('message_id', ids).delete();
      await trx('notify_topic_messages').whereIn('message_id', ids).delete();
      await trx('notify_segment_messages').whereIn('message_id', ids).delete();
      await trx('notify_messages').whereIn('id', ids).delete();
    });
    deleted += ids.length;
    if (ids.length < batchSize) break;
  }
  return deleted;
}

/**
 * Messages and inbox rows (above), then finished deliveries (sent, dead, suppressed) past
 * the inbox retention: an operator can list what happened to a notification as long as
 * the notification itself is kept. Then audit rows past their own retention.
 */
async function sweepAll(store: Store, options: RetentionOptions, now = Date.now()): Promise<number> {
  let deleted = await sweepRetention(store.db, options, now);
  const cutoff = now - options.inboxRetentionMs;
  for (let batch = 0; batch < (options.maxBatches ?? 20); batch++) {
    const n = await store.deliveries.deleteFinishedBefore(cutoff, options.batchSize ?? 500);
    deleted += n;
    if (n === 0) break;
  }
  if (options.auditRetentionMs !== undefined) {
    for (let batch = 0; batch < (options.maxBatches ?? 20); batch++) {
      const n = await store.audit.deleteBefore(now - options.auditRetentionMs, options.batchSize ?? 500);
      deleted += n;
      if (n === 0) break;
    }
  }
  return deleted;
}

/** Sweeps every `intervalMs` while this instance holds the relay lease. */
export function startRetentionSweeper(
  store: Store,
  lease: ConsumerLease,
  options: RetentionOptions,
  logger: Logger,
  intervalMs = 60_000,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running || !lease.isHeld()) return;
    running = true;
    sweepAll(store, options)
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'retention sweep'))
      .catch((error: unknown) => logger.warn({ err: error }, 'retention sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
