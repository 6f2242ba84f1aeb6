/**
 * Notification-center state changes, for the signed-in user (`Authorization: Bearer`).
 *
 *   POST /api/notifications/:id/read
 *   POST /api/notifications/read-all
 *   POST /api/notifications/seen             { "until": ISO-8601 } | { "ids": [...] }
 *   POST /api/notifications/:id/archive
 *   POST /api/notifications/:id/unarchive
 *
 * Rules:
 * - Owner-checked like every inbox query (store/inbox-repository.ts, which also states
 *   what each state means): one id of another user or tenant is 404, never 403; in a
 *   seen list such ids simply change nothing.
 * - Every change is echoed to all the user's sessions, sockets and SSE streams, on
 *   every instance (state-echo.ts): `notification:read`, `notification:seen`,
 *   `notification:archived`. Nothing changed, nothing echoed.
 * - A bulk change (read-all, seen until) echoes at most MAX_ECHO_IDS ids; its `until`
 *   says the rest (everything created up to then).
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/user-token.js';
import type { InboxRepository } from '../store/inbox-repository.js';
import { HttpError } from './errors.js';
import { parseInput } from './parse-input.js';
import type { StateEcho } from './state-echo.js';

export interface InboxStateDeps {
  inbox: InboxRepository;
  stateEcho: StateEcho;
  /** Authenticates the request (and marks its response private). */
  auth: (req: Request, res: Response) => Principal;
}

/** Ids echoed per bulk change; beyond this the echo's `until` carries the meaning. */
const MAX_ECHO_IDS = 1000;
/** Most ids one seen request may name. */
const MAX_SEEN_IDS = 500;

export const notificationId = z.string().min(1).max(64);

export const seenBody = z
  .object({
    until: z.iso.datetime({ offset: true }).optional(),
    ids: z.array(notificationId).max(MAX_SEEN_IDS).optional(),
  })
  .strict()
  .refine((body) => (body.until === undefined) !== (body.ids === undefined), { message: 'give exactly one of "until" or "ids"' });

export function inboxStateRoutes({ inbox, stateEcho, auth }: InboxStateDeps): Router {
  const router = Router();

  router.post('/api/notifications/read-all', async (req, res) => {
    const who = auth(req, res);
    const until = Date.now();
    const ids = await inbox.markAllRead(who, until);
    if (ids.length > 0) {
      stateEcho.publish(who, 'notification:read', { ids: ids.slice(0, MAX_ECHO_IDS), all: true, until: new Date(until).toISOString() });
    }
    res.json({ marked: ids.length });
  });

  router.post('/api/notifications/seen', async (req, res) => {
    const who = auth(req, res);
    const body = parseInput(seenBody, req.body ?? {}, 'send { "until": ISO-8601 } or { "ids": [...] }');
    if (body.ids !== undefined) {
      const ids = await inbox.markSeen(who, { ids: [...new Set(body.ids)] });
      if (ids.length > 0) stateEcho.publish(who, 'notification:seen', { ids });
      res.json({ ids });
      return;
    }
    const until = new Date(Date.parse(body.until!)).toISOString();
    const ids = await inbox.markSeen(who, { until: Date.parse(until) });
    if (ids.length > 0) stateEcho.publish(who, 'notification:seen', { ids: ids.slice(0, MAX_ECHO_IDS), until });
    res.json({ ids, until });
  });

  router.post('/api/notifications/:id/read', async (req, res) => {
    const who = auth(req, res);
    const id = parseInput(notificationId, req.params.id);
    const result = await inbox.markRead(who, id);
    if (result === 'not_found') throw notFound();
    if (result === 'changed') stateEcho.publish(who, 'notification:read', { ids: [id] });
    res.json({ id, read: true, changed: result === 'changed' });
  });

  for (const [action, archived] of [
    ['archive', true],
    ['unarchive', false],
  ] as const) {
    router.post(`/api/notifications/:id/${action}`, async (req, res) => {
      const who = auth(req, res);
      const id = parseInput(notificationId, req.params.id);
      const result = await inbox.setArchived(who, id, archived);
      if (result === 'not_found') throw notFound();
      if (result === 'changed') stateEcho.publish(who, 'notification:archived', { ids: [id], archived });
      res.json({ id, archived, changed: result === 'changed' });
    });
  }

  return router;
}

const notFound = () => new HttpError('NOT_FOUND', 'no such notification for this user');
