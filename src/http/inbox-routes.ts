/**
 * The notification center over REST, for the signed-in user (`Authorization: Bearer`).
 *
 *   GET  /api/notifications?limit&cursor&unread=1   history, newest first
 *   GET  /api/notifications?after=<id>|start|        the commit-ordered stream (polling)
 *   GET  /api/notifications/unread-count
 *   POST /api/notifications/:id/read
 *   POST /api/notifications/read-all
 *
 * Rules:
 * - Owner-checked on every row: queries are scoped by the token's (tenant, user), so an
 *   id of another user or tenant is "not found", never "forbidden" (no existence leak).
 * - History merges the user's rows with tenant broadcasts; `cursor` is opaque and
 *   stable (created_at + id, see store/inbox-repository.ts for why and for broadcast read state).
 * - `after` switches to the stream mode used by the SDK's last-resort short polling:
 *   entries after a position in commit order, as the socket replays them. `after=` with
 *   no value answers only the head position (`lastId`); `after=start` means "my stream
 *   was empty when I last asked". Unknown positions answer `recovered: false` + the head.
 * - A read change is echoed as `notification:read` to all the user's sessions.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { TokenVerifier } from '../auth/user-token.js';
import type { Metrics } from '../metrics/metrics.js';
import { streamAfter } from '../realtime/replay.js';
import type { HistoryPosition } from '../store/inbox-repository.js';
import type { Store } from '../store/store.js';
import { HttpError } from './errors.js';
import type { ReadEcho } from './read-echo.js';
import { authenticate } from './user-auth.js';

export interface InboxRouteDeps {
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  readEcho: ReadEcho;
  replayRetentionMs: number;
}

/** Ids echoed per read-all; beyond this the echo's `all` + `until` carries the meaning. */
const MAX_ECHO_IDS = 1000;

const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional(),
    unread: z.enum(['1', 'true', '0', 'false']).optional(),
    after: z.string().max(64).optional(),
  })
  .strict()
  .refine((q) => q.after === undefined || (q.cursor === undefined && q.unread === undefined), {
    message: '"after" (stream mode) cannot be combined with "cursor" or "unread"',
  });

const notificationId = z.string().min(1).max(64);

export function inboxRoutes(deps: InboxRouteDeps): Router {
  const router = Router();
  const { inbox, replay } = deps.store;
  const auth = (req: Request, res: Parameters<typeof authenticate>[2]) => {
    res.set('Cache-Control', 'private, no-store');
    return authenticate(deps, req, res, 'rest');
  };

  router.get('/api/notifications', async (req, res) => {
    const who = auth(req, res);
    const query = parse(listQuery, req.query);
    if (query.after === '') {
      res.json({ items: [], lastId: await replay.streamHead(who), recovered: false });
      return;
    }
    if (query.after !== undefined) {
      res.json(await streamAfter(replay, who, query.after, query.limit, deps.replayRetentionMs));
      return;
    }
    const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const unreadOnly = query.unread === '1' || query.unread === 'true';
    const page = await inbox.listHistory(who, { limit: query.limit, before, unreadOnly });
    res.json({ items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null });
  });

  router.get('/api/notifications/unread-count', async (req, res) => {
    const who = auth(req, res);
    res.json({ count: await inbox.countUnread(who) });
  });

  router.post('/api/notifications/read-all', async (req, res) => {
    const who = auth(req, res);
    const until = Date.now();
    const ids = await inbox.markAllRead(who, until);
    if (ids.length > 0) {
      deps.readEcho.publish(who, { ids: ids.slice(0, MAX_ECHO_IDS), all: true, until: new Date(until).toISOString() });
    }
    res.json({ marked: ids.length });
  });

  router.post('/api/notifications/:id/read', async (req, res) => {
    const who = auth(req, res);
    const id = parse(notificationId, req.params.id);
    const result = await inbox.markRead(who, id);
    if (result === 'not_found') throw new HttpError('NOT_FOUND', 'no such notification for this user');
    if (result === 'changed') deps.readEcho.publish(who, { ids: [id] });
    res.json({ id, read: true, changed: result === 'changed' });
  });

  return router;
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new HttpError('VALIDATION_FAILED', 'invalid request parameters', details);
  }
  return parsed.data;
}

export function encodeCursor(position: HistoryPosition): string {
  return Buffer.from(`${position.createdAt}.${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): HistoryPosition {
  const match = /^(\d{1,16})\.(.{1,64})$/s.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new HttpError('VALIDATION_FAILED', 'cursor is not one this API returned', [{ path: 'cursor', message: 'malformed' }]);
  return { createdAt: Number(match[1]), id: match[2]! };
}
