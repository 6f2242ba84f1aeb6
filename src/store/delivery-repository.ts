/**
 * The delivery queue (`notify_deliveries`): one row per (message, channel, recipient,
 * target), unique, so no plan can queue the same delivery twice.
 *
 * Rules:
 * - Planning is exactly once: `commitPlan` moves the `deliveries` cursor from the position
 *   the planner read from, in the same transaction as the rows it inserts; a second
 *   planner that read the same positions finds the cursor moved and commits nothing.
 * - Claiming: due rows (`pending`, or `failed` awaiting a retry, with `available_at` ≤ now)
 *   become `sending` with this worker's id and a lock time, and count an attempt. On
 *   MySQL the claim is `FOR UPDATE SKIP LOCKED` inside a transaction, so workers on
 *   several instances never claim one row together (under autocommit they would); on
 *   SQLite one process owns the file.
 * - An outcome is recorded only by the worker that holds the lock (`locked_by`), so a
 *   worker that lost its row to stuck-lock recovery cannot overwrite a newer result.
 * - Stuck-lock recovery: a `sending` row locked longer than the visibility timeout (its
 *   worker died or hung) becomes `failed` and due now, or `dead` once out of attempts.
 *   Its delivery may then happen twice (at-least-once); receivers dedupe on the id.
 */
import { whereInScope, type TenantScope } from './tenant-scope.js';
import type { Knex } from 'knex';
import { CONSUMERS_TABLE } from '../../migrations/20261130_003_consumers_and_deliveries.js';
import { TimeSlice } from '../event-loop.js';
import { joinOrOpenDigest, readDigestSummaries, type DigestSummary } from './digest-windows.js';
import { decodeData, decodeDelivery, toNumber, type DeliverySpec } from './message-codec.js';
import type { ConsumerName } from './stream-repository.js';

export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'dead' | 'suppressed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'sending', 'sent', 'failed', 'dead', 'suppressed'];

export interface PlannedDelivery {
  id: string;
  tenantId: string;
  messageId: string;
  channel: string;
  channelType: string;
  /** User id for per-user channels; '' for endpoint channels. */
  recipient: string;
  /** Push subscription id for webpush; '' otherwise. */
  target: string;
  status: 'pending' | 'suppressed';
  reason: string | null;
  maxAttempts: number;
  /** Joins (or opens) this digest window instead of being sent: stored `suppressed`, reason `digested`. */
  digest?: { key: string; closesAt: number };
}

/** A claimed delivery folded into a digest instead of being sent (rate_limited_folded). */
export interface Fold {
  key: string;
  closesAt: number;
  reason: string;
}

/** A claimed row with everything a driver needs, read after the claim committed. */
export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  messageId: string;
  channel: string;
  channelType: string;
  recipient: string;
  target: string;
  attempts: number;
  maxAttempts: number;
  /** null when retention removed the message meanwhile. */
  message: {
    kind: string;
    title: string;
    body: string | null;
    data: Record<string, unknown> | null;
    priority: string;
    createdAt: number;
    expiresAt: number | null;
    delivery: DeliverySpec | null;
  } | null;
  /** The channel as configured now (null: deleted since planning); config is JSON text. */
  channelConfig: { type: string; config: unknown } | null;
  address: { email: string | null; mobile: string | null; wecomUserId: string | null; locale: string | null; timezone: string | null } | null;
  push: { id: string; endpoint: string; p256dh: string; auth: string } | null;
  /** Set for a digest row: what it summarises. */
  digest: DigestSummary | null;
}

export interface DeliveryView {
  id: string;
  tenantId: string;
  messageId: string;
  channel: string;
  channelType: string;
  recipient: string | null;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  reason: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  sentAt: string | null;
  /** A digest row: its key and how many deliveries it summarises. */
  digest: { key: string; count: number } | null;
  /** A delivery folded into a digest: the digest's row id. */
  digestId: string | null;
}

export interface DeliveryFilter {
  /** Absent: every tenant of every app. */
  scope?: TenantScope;
  status?: DeliveryStatus;
  channel?: string;
  messageId?: string;
  /** Rows with ids below this one (the previous page's last id). */
  before?: string;
  limit: number;
}

export type Resolution =
  | { status: 'failed'; availableAt: number; error: string }
  | { status: 'dead'; error: string; reason?: string }
  | { status: 'suppressed'; reason: string; error?: string }
  /** Not attempted (the channel's own limit): the attempt is given back. */
  | { status: 'deferred'; availableAt: number; error: string };

const INSERT_CHUNK = 200;
const ERROR_LIMIT = 1000;

export class DeliveryRepository {
  constructor(
    private readonly db: Knex,
    private readonly skipLocked: boolean,
  ) {}

  /** Records a plan and moves the consumer's cursor `from` → `to`; false if another planner did. */
  async commitPlan(consumer: ConsumerName, from: number, to: number, rows: readonly PlannedDelivery[], now = Date.now()): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const moved = await trx(CONSUMERS_TABLE).where({ name: consumer, position: from }).update({ position: to, updated_at: now });
      if (moved !== 1) return false;
      // A tenant broadcast by email can be one notification of many thousand rows: on
      // SQLite each INSERT holds the event loop, so it turns between slices of them.
      const slice = new TimeSlice();
      const digested = rows.filter((r) => r.digest !== undefined);
      const plain = digested.length === 0 ? rows : rows.filter((r) => r.digest === undefined);
      for (const r of digested) {
        await slice.pause();
        const opening = { ...r, key: r.digest!.key, closesAt: r.digest!.closesAt };
        const digestId = await joinOrOpenDigest(trx, opening, now, this.skipLocked);
        await trx('notify_deliveries')
          .insert({ ...this.rowOf(r, now), status: 'suppressed', reason: 'digested', digest_id: digestId })
          .onConflict(['message_id', 'channel', 'recipient', 'target'])
          .ignore();
      }
      for (let i = 0; i < plain.length; i += INSERT_CHUNK) {
        await slice.pause();
        const chunk = plain.slice(i, i + INSERT_CHUNK).map((r) => this.rowOf(r, now));
        await trx('notify_deliveries').insert(chunk).onConflict(['message_id', 'channel', 'recipient', 'target']).ignore();
      }
      return true;
    });
  }

  private rowOf(r: PlannedDelivery, now: number) {
    return {
      id: r.id,
      tenant_id: r.tenantId,
      message_id: r.messageId,
      channel: r.channel,
      channel_type: r.channelType,
      recipient: r.recipient,
      target: r.target,
      status: r.status,
      attempts: 0,
      max_attempts: r.maxAttempts,
      available_at: now,
      reason: r.reason,
      created_at: now,
      updated_at: now,
    };
  }

  /**
   * A row this worker holds becomes a member of a digest window (opened if none is open)
   * instead of being sent now: `suppressed` with `fold.reason`, never dropped.
   */
  async fold(worker: string, id: string, fold: Fold, now = Date.now()): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const row = (await trx('notify_deliveries').where({ id, locked_by: worker, status: 'sending' }).first()) as Record<string, unknown> | undefined;
      if (!row) return false;
      const digestId = await joinOrOpenDigest(
        trx,
        {
          tenantId: row.tenant_id as string,
          channel: row.channel as string,
          channelType: row.channel_type as string,
          recipient: row.recipient as string,
          key: fold.key,
          messageId: row.message_id as string,
          closesAt: fold.closesAt,
          maxAttempts: Number(row.max_attempts),
        },
        now,
        this.skipLocked,
      );
      await trx('notify_deliveries')
        .where({ id, locked_by: worker })
        .update({ status: 'suppressed', reason: fold.reason, digest_id: digestId, attempts: trx.raw('attempts - 1'), locked_at: null, locked_by: null, updated_at: now });
      return true;
    });
  }

  /** Claims up to `limit` due rows for `worker` (see the rules above). */
  async claim(worker: string, limit: number, now = Date.now()): Promise<ClaimedDelivery[]> {
    const ids = await this.db.transaction(async (trx) => {
      // One status per query: with `status IN (…)` MySQL sorts the whole due set and locks
      // every row it read, so a second instance's claim found nothing (and claims slowed
      // with the backlog). An equality on the index prefix reads in order and stops at `limit`.
      const due = (status: DeliveryStatus, n: number) => {
        const query = trx('notify_deliveries').where({ status }).andWhere('available_at', '<=', now).orderBy('available_at').limit(n).select('id');
        return (this.skipLocked ? query.forUpdate().skipLocked() : query) as Promise<{ id: string }[]>;
      };
      const picked = await due('pending', limit);
      if (picked.length < limit) picked.push(...(await due('failed', limit - picked.length)));
      const ids = picked.map((r) => r.id);
      if (ids.length === 0) return ids;
      await trx('notify_deliveries')
        .whereIn('id', ids)
        // Clearing digest_open closes a digest's window in the same statement (digest-windows.ts).
        .update({ status: 'sending', locked_at: now, locked_by: worker, attempts: trx.raw('attempts + 1'), digest_open: null, updated_at: now });
      return ids;
    });
    return ids.length === 0 ? [] : this.load(ids);
  }

  private async load(ids: readonly string[]): Promise<ClaimedDelivery[]> {
    const rows: Record<string, unknown>[] = await this.db('notify_deliveries as d')
      .leftJoin('notify_messages as m', 'm.id', 'd.message_id')
      .leftJoin('notify_channels as c', (j) => j.on('c.tenant_id', 'd.tenant_id').andOn('c.name', 'd.channel'))
      .leftJoin('notify_recipients as r', (j) => j.on('r.tenant_id', 'd.tenant_id').andOn('r.user_id', 'd.recipient'))
      .leftJoin('notify_push_subscriptions as p', 'p.id', 'd.target')
      .whereIn('d.id', ids)
      .select(
        'd.id', 'd.tenant_id', 'd.message_id', 'd.channel', 'd.channel_type', 'd.recipient', 'd.target', 'd.attempts', 'd.max_attempts',
        'd.digest_key', 'd.digest_count',
        'm.id as m_id', 'm.kind', 'm.title', 'm.body', 'm.data', 'm.priority', 'm.created_at', 'm.expires_at', 'm.delivery',
        'c.type as c_type', 'c.config as c_config',
        'r.user_id as r_user', 'r.email', 'r.mobile', 'r.wecom_user_id', 'r.locale', 'r.timezone',
        'p.id as p_id', 'p.endpoint', 'p.p256dh', 'p.auth',
      );
    const digests = rows.filter((r) => r.digest_key != null).map((r) => ({ id: r.id as string, key: r.digest_key as string, count: Number(r.digest_count) }));
    const summaries = digests.length === 0 ? new Map<string, DigestSummary>() : await readDigestSummaries(this.db, digests);
    return rows.map((r) => ({
      id: r.id as string,
      tenantId: r.tenant_id as string,
      messageId: r.message_id as string,
      channel: r.channel as string,
      channelType: r.channel_type as string,
      recipient: r.recipient as string,
      target: r.target as string,
      attempts: Number(r.attempts),
      maxAttempts: Number(r.max_attempts),
      message: r.m_id
        ? {
            kind: r.kind as string,
            title: r.title as string,
            body: (r.body as string | null) ?? null,
            data: decodeData(r.data),
            priority: r.priority as string,
            createdAt: toNumber(r.created_at as number)!,
            expiresAt: toNumber(r.expires_at as number | null),
            delivery: decodeDelivery(r.delivery),
          }
        : null,
      channelConfig: r.c_type ? { type: r.c_type as string, config: decodeData(r.c_config) } : null,
      address: r.r_user
        ? {
            email: (r.email as string | null) ?? null,
            mobile: (r.mobile as string | null) ?? null,
            wecomUserId: (r.wecom_user_id as string | null) ?? null,
            locale: (r.locale as string | null) ?? null,
            timezone: (r.timezone as string | null) ?? null,
          }
        : null,
      push: r.p_id ? { id: r.p_id as string, endpoint: r.endpoint as string, p256dh: r.p256dh as string, auth: r.auth as string } : null,
      digest: summaries.get(r.id as string) ?? null,
    }));
  }

  /** Marks rows this worker holds as sent (one statement for a whole batch). */
  async markSent(worker: string, ids: readonly string[], now = Date.now()): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db('notify_deliveries')
      .whereIn('id', ids)
      .andWhere({ locked_by: worker, status: 'sending' })
      .update({ status: 'sent', sent_at: now, locked_at: null, locked_by: null, last_error: null, updated_at: now });
  }

  /** Records a result other than sent for a row this worker holds. */
  async resolve(worker: string, id: string, resolution: Resolution, now = Date.now()): Promise<boolean> {
    const error = 'error' in resolution && resolution.error !== undefined ? resolution.error.slice(0, ERROR_LIMIT) : null;
    const base = { locked_at: null, locked_by: null, updated_at: now, last_error: error };
    const update =
      resolution.status === 'failed'
        ? { ...base, status: 'failed', available_at: resolution.availableAt }
        : resolution.status === 'deferred'
          ? { ...base, status: 'pending', available_at: resolution.availableAt, attempts: this.db.raw('attempts - 1') }
          : { ...base, status: resolution.status, reason: resolution.reason ?? null };
    const changed = await this.db('notify_deliveries').where({ id, locked_by: worker, status: 'sending' }).update(update);
    return changed === 1;
  }

  /** Stuck-lock recovery (see the rules above); returns the rows released. */
  async recoverStuck(visibilityMs: number, now = Date.now()): Promise<number> {
    const stale = now - visibilityMs;
    const lost = 'lost while sending: no result within the visibility timeout';
    const dead = await this.db('notify_deliveries')
      .where({ status: 'sending' })
      .andWhere('locked_at', '<', stale)
      .andWhere('attempts', '>=', this.db.ref('max_attempts'))
      .update({ status: 'dead', reason: 'max_attempts', last_error: lost, locked_at: null, locked_by: null, updated_at: now });
    const retried = await this.db('notify_deliveries')
      .where({ status: 'sending' })
      .andWhere('locked_at', '<', stale)
      .update({ status: 'failed', available_at: now, last_error: lost, locked_at: null, locked_by: null, updated_at: now });
    return dead + retried;
  }

  async list(filter: DeliveryFilter): Promise<DeliveryView[]> {
    const rows: Record<string, unknown>[] = await this.db('notify_deliveries')
      .modify((q) => {
        if (filter.scope !== undefined) whereInScope(q, 'tenant_id', filter.scope);
        if (filter.status !== undefined) q.where('status', filter.status);
        if (filter.channel !== undefined) q.where('channel', filter.channel);
        if (filter.messageId !== undefined) q.where('message_id', filter.messageId);
        if (filter.before !== undefined) q.where('id', '<', filter.before);
      })
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .select('*');
    return rows.map(toView);
  }

  async get(id: string): Promise<DeliveryView | null> {
    const row = (await this.db('notify_deliveries').where({ id }).first()) as Record<string, unknown> | undefined;
    return row ? toView(row) : null;
  }

  /** `dead` or `failed` → due now with a fresh set of attempts; false when the row is in another state. */
  async retryNow(id: string, now = Date.now()): Promise<boolean> {
    const changed = await this.db('notify_deliveries')
      .where({ id })
      .whereIn('status', ['dead', 'failed'])
      .update({ status: 'pending', attempts: 0, available_at: now, reason: null, updated_at: now });
    return changed === 1;
  }

  /** Rows per status, and the age of the oldest row waiting to be sent (metrics). */
  async stats(now = Date.now()): Promise<{ byStatus: Record<string, number>; oldestWaitingSeconds: number }> {
    const counts: { status: string; n: number | string }[] = await this.db('notify_deliveries')
      .whereIn('status', ['pending', 'sending', 'failed', 'dead'])
      .groupBy('status')
      .select('status')
      .count({ n: '*' });
    const oldest = (await this.db('notify_deliveries')
      .whereIn('status', ['pending', 'failed'])
      .min({ oldest: 'created_at' })
      .first()) as { oldest: number | string | null } | undefined;
    const byStatus: Record<string, number> = { pending: 0, sending: 0, failed: 0, dead: 0 };
    for (const c of counts) byStatus[c.status] = Number(c.n);
    const first = toNumber(oldest?.oldest ?? null);
    return { byStatus, oldestWaitingSeconds: first === null ? 0 : Math.max(0, (now - first) / 1000) };
  }

  /** Finished rows (sent, dead, suppressed) older than `cutoff`, in small batches. */
  async deleteFinishedBefore(cutoff: number, batchSize: number): Promise<number> {
    const ids: string[] = await this.db('notify_deliveries')
      .whereIn('status', ['sent', 'dead', 'suppressed'])
      .andWhere('updated_at', '<', cutoff)
      .limit(batchSize)
      .pluck('id');
    if (ids.length === 0) return 0;
    return this.db('notify_deliveries').whereIn('id', ids).delete();
  }
}

function iso(value: unknown): string | null {
  const n = toNumber(value as number | string | null);
  return n === null ? null : new Date(n).toISOString();
}

function toView(r: Record<string, unknown>): DeliveryView {
  const status = r.status as DeliveryStatus;
  const waiting = status === 'pending' || status === 'failed';
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    messageId: r.message_id as string,
    channel: r.channel as string,
    channelType: r.channel_type as string,
    recipient: (r.recipient as string) || null,
    status,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    lastError: (r.last_error as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    nextAttemptAt: waiting ? iso(r.available_at) : null,
    createdAt: iso(r.created_at)!,
    sentAt: iso(r.sent_at),
    digest: r.digest_key != null ? { key: r.digest_key as string, count: Number(r.digest_count) } : null,
    digestId: (r.digest_id as string | null) ?? null,
  };
}
