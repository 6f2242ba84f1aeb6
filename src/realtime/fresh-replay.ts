/**
 * Replay for a fresh device: a connection without `lastAckId` (a new device, cleared
 * storage) has no position to resume from, so it is sent what no session of the user
 * has acked yet, within REPLAY_RETENTION_HOURS, in commit order
 * (store/unacked-repository.ts says which rows that is). Like every replay it is held
 * ahead of live broadcasts and ends with `notify:synced { recovered: false }`: the
 * client had no position, so older history is for the REST list.
 */
import type { Principal } from '../auth/user-token.js';
import { toNumber, toWire, type MessageRow } from '../store/message-codec.js';
import type { UnackedRepository } from '../store/unacked-repository.js';
import type { StreamEntry } from './replay.js';

export interface FreshReplayOptions {
  retentionMs: number;
  pageSize: number;
  now?: number;
}

/** The user's unacked notifications within retention, page by page, without expired rows. */
export async function* unackedStream(
  unacked: UnackedRepository,
  who: Principal,
  { retentionMs, pageSize, now = Date.now() }: FreshReplayOptions,
): AsyncGenerator<StreamEntry[]> {
  const since = now - retentionMs;
  let cursor = await unacked.positionBefore(who, since);
  for (;;) {
    const rows = await unacked.readPage(who, cursor, since, pageSize);
    const at = Date.now();
    const live = rows.filter((row) => !isExpired(row, at));
    if (live.length > 0) yield live.map((row) => ({ seq: toNumber(row.seq) ?? 0, notification: toWire(row) }));
    if (rows.length < pageSize) return;
    cursor = toNumber(rows[rows.length - 1]!.seq) ?? cursor;
  }
}

function isExpired(row: MessageRow, now: number): boolean {
  const expiresAt = toNumber(row.expires_at);
  return expiresAt !== null && expiresAt <= now;
}
