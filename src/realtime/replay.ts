/**
 * Replay — what a reconnecting client missed, read from the store in commit order
 * (store/replay-repository.ts holds the queries).
 *
 * Rules:
 * - A user's stream is the union of their inbox rows (scope "user") and their tenant's
 *   broadcasts (scope "tenant"), ordered by position (`seq`), never by id: ids are not
 *   commit-ordered, positions are (see outbox/notification-writer.ts).
 * - `lastAckId` is resolved to a position only if it belongs to this user's stream and
 *   is within REPLAY_RETENTION_HOURS; otherwise the cursor is unknown and the client is
 *   told `recovered: false` (refetch over REST) rather than guessed at.
 * - Pages are bounded (REPLAY_PAGE_SIZE); the caller keeps reading until a short page.
 * - Expired notifications (ttlSeconds) are not replayed.
 * - The commit-ordered stream (`streamAfter`) is what the socket replays, for clients
 *   that can only poll: positions are ids resolved to `seq`, never ids compared.
 * - A socket also replays the topics it holds (auth.topics, authorised like `subscribe`):
 *   their messages are part of the same stream, in position order. A topic message is
 *   a valid `lastAckId` within the tenant. SSE and polling replay no topics.
 */
import type { Principal } from '../auth/user-token.js';
import { toNumber, toWire, type MessageRow, type WireNotification } from '../store/message-codec.js';
import type { ReplayRepository } from '../store/replay-repository.js';
import { reachesDevice } from '../devices/device-targets.js';

export interface StreamEntry {
  seq: number;
  notification: WireNotification;
}

export async function resolveCursor(
  replay: ReplayRepository,
  who: Principal,
  lastAckId: string,
  retentionMs: number,
  now = Date.now(),
): Promise<number | null> {
  const message = await replay.cursorMessage(who, lastAckId);
  const seq = toNumber(message?.seq);
  if (!message || seq === null) return null;
  if ((toNumber(message.created_at) ?? 0) < now - retentionMs) return null;
  if (message.scope === 'user' && !(await replay.hasInboxRow(who, lastAckId))) return null;
  return seq;
}

/**
 * The user's stream after `afterSeq`, page by page, in commit order, without expired rows;
 * with the messages of `topics` (authorised by the caller) merged in.
 */
export async function* replayStream(
  replay: ReplayRepository,
  who: Principal,
  afterSeq: number,
  pageSize: number,
  topics: readonly string[] = [],
): AsyncGenerator<StreamEntry[]> {
  yield* livePages((after) => replay.readPage(who, after, pageSize, topics), afterSeq, pageSize);
}

/** Pages `read` after `start` in position order until a short page, expired rows left out. */
export async function* livePages(read: (after: number) => Promise<MessageRow[]>, start: number, pageSize: number): AsyncGenerator<StreamEntry[]> {
  let cursor = start;
  for (;;) {
    const rows = await read(cursor);
    const now = Date.now();
    const live = rows.filter((row) => !isExpired(row, now));
    if (live.length > 0) yield live.map((row) => ({ seq: toNumber(row.seq) ?? 0, notification: toWire(row) }));
    if (rows.length < pageSize) return;
    cursor = toNumber(rows[rows.length - 1]!.seq) ?? cursor;
  }
}

function isExpired(row: MessageRow, now: number): boolean {
  const expiresAt = toNumber(row.expires_at);
  return expiresAt !== null && expiresAt <= now;
}

export const STREAM_START = 'start';

export interface StreamSlice {
  items: WireNotification[];
  /** Where to continue: the last entry read (delivered or too old), or the head. */
  lastId: string | null;
  recovered: boolean;
}

/**
 * The stream after a position, for polling clients. `after` is a notification id of the
 * user's stream (any age: the position stays exact) or `start` (the user saw an empty
 * stream). Entries older than the replay retention are skipped, not delivered — the
 * same horizon the socket replay keeps — but still move `lastId` on.
 */
export async function streamAfter(
  replay: ReplayRepository,
  who: Principal,
  after: string,
  limit: number,
  retentionMs: number,
  now = Date.now(),
): Promise<StreamSlice> {
  const seq = after === STREAM_START ? 0 : await resolveCursor(replay, who, after, Number.MAX_SAFE_INTEGER, now);
  if (seq === null) return { items: [], lastId: await replay.streamHead(who), recovered: false };
  const horizon = now - retentionMs;
  const items: WireNotification[] = [];
  let lastId: string | null = after === STREAM_START ? null : after;
  pages: for await (const page of replayStream(replay, who, seq, limit)) {
    for (const entry of page) {
      lastId = entry.notification.id;
      // Polling names no device: one sent to some devices of the user is not for it.
      if (Date.parse(entry.notification.createdAt) >= horizon && reachesDevice(entry.notification, null)) items.push(entry.notification);
      if (items.length >= limit) break pages;
    }
  }
  return { items, lastId, recovered: true };
}
