/**
 * Replay for a fresh device: a connection without `lastAckId` (a new device, cleared
 * storage) has no position to resume from, so it is sent what no session of the user
 * has acked yet, within REPLAY_RETENTION_HOURS, in commit order
 * (store/unacked-repository.ts says which rows that is). Like every replay it is held
 * ahead of live broadcasts and ends with `notify:synced { recovered: false }`: the
 * client had no position, so older history is for the REST list.
 */
import type { Principal } from '../auth/user-token.js';
import type { UnackedRepository } from '../store/unacked-repository.js';
import { livePages, type StreamEntry } from './replay.js';

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
  const start = await unacked.positionBefore(who, since);
  yield* livePages((after) => unacked.readPage(who, after, since, pageSize), start, pageSize);
}
