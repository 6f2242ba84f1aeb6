/**
 * The notification center over REST, for the signed-in user (`Authorization: Bearer`).
 *
 *   GET  /api/notifications?limit&cursor&status&includeMuted   history, newest first
 *   GET  /api/notifications?after=<id>|start|                   the commit-ordered stream (polling)
 *   GET  /api/notifications/unread-count
 *   + the state changes (read, read-all, seen, archive, unarchive): inbox-state-routes.ts
 *
 * Rules:
 * - Owner-checked on every row: queries are scoped by the token's (tenant, user), so an
 *   id of another user or tenant is "not found", never "forbidden" (no existence leak).
 * - History merges the user's rows with tenant broadcasts; `cursor` is opaque and
 *   stable under every filter (created_at + id, see store/inbox-repository.ts for why,
 *   for broadcast state and for muted rows).
 * - `status`: `unread`, `read`, `archived` or `all`; absent, everything not archived.
 *   `unread=1` is the older spelling of `status=unread`. `includeMuted=1` lists muted
 *   rows too (flagged `muted: true`).
 * - `after` switches to the stream mode used by the SDK's last-resort short polling:
 *   entries after a position in commit order, as the socket replays them. `after=` with
 *   no value answers only the head position (`lastId`); `after=start` means "my stream
 *   was empty when I last asked". Unknown positions answer `recovered: false` + the head.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { TokenVerifier } from '../auth/user-token.js';
import type { Metrics } from '../metrics/metrics.js';
import { streamAfter } from '../realtime/replay.js';
import type { HistoryPosition, InboxStatus } from '../store/inbox-repository.js';
import type { Store } from '../store/store.js';
import { HttpError } from './errors.js';
import { inboxStateRoutes } from './inbox-state-routes.js';
import { parseInput } from './parse-input.js';
import type { StateEcho } from './state-echo.js';
import { authenticate } from './user-auth.js';

export interface InboxRouteDeps {
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  stateEcho: StateEcho;
  replayRetentionMs: number;
}

const flag = z.enum(['1', 'true', '0', 'false']);
const isOn = (value: string | undefined) => value === '1' || value === 'true';

export const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(200).optional(),
    status: z.enum(['unread', 'read', 'archived', 'all']).optional(),
    unread: flag.optional(),
    includeMuted: flag.optional(),
    after: z.string().max(64).optional(),
  })
  .strict()
  .refine((q) => q.after === undefined || (q.cursor === undefined && q.unread === undefined && q.status === undefined && q.includeMuted === undefined), {
    message: '"after" (stream mode) cannot be combined with "cursor", "status", "unread" or "includeMuted"',
  })
  .refine((q) => !isOn(q.unread) || q.status === undefined || q.status === 'unread', {
    message: '"unread=1" means "status=unread"; it cannot be combined with another status',
    path: ['unread'],
  });

export function inboxRoutes(deps: InboxRouteDeps): Router {
  const router = Router();
  const { inbox, replay } = deps.store;
  const auth = (req: Request, res: Response) => {
    res.set('Cache-Control', 'private, no-store');
    return authenticate(deps, req, res, 'rest');
  };

  router.get('/api/notifications', async (req, res) => {
    const who = auth(req, res);
    const query = parseInput(listQuery, req.query);
    if (query.after === '') {
      res.json({ items: [], lastId: await replay.streamHead(who), recovered: false });
      return;
    }
    if (query.after !== undefined) {
      res.json(await streamAfter(replay, who, query.after, query.limit, deps.replayRetentionMs));
      return;
    }
    const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const status: InboxStatus = query.status ?? (isOn(query.unread) ? 'unread' : 'active');
    const page = await inbox.listHistory(who, { limit: query.limit, before, status, includeMuted: isOn(query.includeMuted) });
    res.json({ items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null });
  });

  router.get('/api/notifications/unread-count', async (req, res) => {
    const who = auth(req, res);
    const { unread, unseen } = await inbox.counts(who);
    res.json({ count: unread, unseen });
  });

  router.use(inboxStateRoutes({ inbox, stateEcho: deps.stateEcho, auth }));
  return router;
}

export function encodeCursor(position: HistoryPosition): string {
  return Buffer.from(`${position.createdAt}.${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): HistoryPosition {
  const match = /^(\d{1,16})\.(.{1,64})$/s.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new HttpError('VALIDATION_FAILED', 'cursor is not one this API returned', [{ path: 'cursor', message: 'malformed' }]);
  return { createdAt: Number(match[1]), id: match[2]! };
}
