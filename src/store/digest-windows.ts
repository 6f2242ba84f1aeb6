/**
 * Digest windows in the delivery queue (migration 005).
 *
 * A digest is a delivery row of its own: `target` 'digest', `digest_key` set, `pending`
 * until its window closes (`available_at`), then claimed and sent like any delivery — so a
 * worker that dies while sending it leaves a row that stuck-lock recovery re-queues, and
 * the digest still goes out. The deliveries it summarises are `suppressed` rows with
 * `digest_id` pointing at it.
 *
 * Rules:
 * - One open window per (tenant, channel, recipient, key): `digest_open` = 1 is part of a
 *   unique key, so of two first events opening at once one insert is ignored and that
 *   event joins the other's window.
 * - A join and the claim cannot cross: a join increments `digest_count` only while
 *   `digest_open` = 1, and the claim clears `digest_open` in the statement that makes the
 *   row `sending`. The claim runs after the join committed (row lock / one SQLite writer),
 *   so the worker reads every member; an event arriving after the claim opens a new window.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { toNumber } from './message-codec.js';

export const DIGEST_TARGET = 'digest';

export interface DigestWindowKey {
  tenantId: string;
  channel: string;
  channelType: string;
  recipient: string;
  key: string;
}

export interface DigestOpening extends DigestWindowKey {
  /** The event that opens the window (the digest row's message: any member would do). */
  messageId: string;
  closesAt: number;
  maxAttempts: number;
}

/** What a digest summarises, read when it is sent. */
export interface DigestSummary {
  key: string;
  count: number;
  /** The newest members first. */
  latest: { messageId: string; kind: string; title: string; createdAt: number; delivery: unknown }[];
}

/** Titles a digest lists at most. */
export const DIGEST_LATEST = 5;

/** Joins the open window of `opening`'s key, or opens one; returns the digest row id. */
export async function joinOrOpenDigest(trx: Knex.Transaction, opening: DigestOpening, now: number, lockingReads: boolean): Promise<string> {
  const where = {
    tenant_id: opening.tenantId,
    channel: opening.channel,
    recipient: opening.recipient,
    digest_key: opening.key,
    digest_open: 1,
  };
  // Another transaction may open or close the window between our read and write: the
  // conditional update and the ignored insert tell, and we look again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const read = trx('notify_deliveries').where(where).first('id');
    const open = (await (lockingReads ? read.forUpdate() : read)) as { id: string } | undefined;
    if (open) {
      const joined = await trx('notify_deliveries')
        .where({ id: open.id, digest_open: 1 })
        .update({ digest_count: trx.raw('digest_count + 1'), updated_at: now });
      if (joined === 1) return open.id;
      continue;
    }
    const id = uuidv7();
    await trx('notify_deliveries')
      .insert({
        id,
        tenant_id: opening.tenantId,
        message_id: opening.messageId,
        channel: opening.channel,
        channel_type: opening.channelType,
        recipient: opening.recipient,
        target: DIGEST_TARGET,
        status: 'pending',
        attempts: 0,
        max_attempts: opening.maxAttempts,
        available_at: opening.closesAt,
        digest_key: opening.key,
        digest_count: 1,
        digest_open: 1,
        created_at: now,
        updated_at: now,
      })
      .onConflict(['tenant_id', 'channel', 'recipient', 'digest_key', 'digest_open'])
      .ignore();
    const mine = await trx('notify_deliveries').where({ id }).first('id');
    if (mine) return id;
  }
  throw new Error(`digest window ${opening.channel}/${opening.recipient}/${opening.key}: could neither join nor open`);
}

/** The summaries of these digest rows (count and newest members), by digest id. */
export async function readDigestSummaries(db: Knex, digests: readonly { id: string; key: string; count: number }[]): Promise<Map<string, DigestSummary>> {
  const summaries = new Map<string, DigestSummary>();
  for (const digest of digests) {
    const rows: { message_id: string; kind: string; title: string; created_at: number | string; delivery: unknown }[] = await db('notify_deliveries as d')
      .join('notify_messages as m', 'm.id', 'd.message_id')
      .where('d.digest_id', digest.id)
      .orderBy('m.created_at', 'desc')
      .orderBy('m.id', 'desc')
      .limit(DIGEST_LATEST)
      .select('d.message_id', 'm.kind', 'm.title', 'm.created_at', 'm.delivery');
    summaries.set(digest.id, {
      key: digest.key,
      count: digest.count,
      latest: rows.map((r) => ({ messageId: r.message_id, kind: r.kind, title: r.title, createdAt: toNumber(r.created_at)!, delivery: r.delivery })),
    });
  }
  return summaries;
}
