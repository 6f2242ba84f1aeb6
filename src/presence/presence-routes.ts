/**
 * Presence for back ends (API key; the tenant as on the other API-key routes: a bound key
 * reads its own tenant, a key for any tenant names one with `?tenantId=`, default `default`):
 * - `GET /api/presence/topics/:topic` → `{ topic, connections, users }`
 * - `GET /api/presence/users/:userId` → `{ userId, online, connections, lastSeen }`
 *   (`lastSeen`: ISO 8601, now while online; null when never seen or forgotten)
 * Counts are across every live instance (presence-store.ts). Presence unreadable (Redis
 * down) → 503 STORE_UNAVAILABLE.
 */
import { Router } from 'express';
import { tenantOf, type AdminAuthDeps } from '../http/admin-auth.js';
import { HttpError } from '../http/errors.js';
import { TOPIC } from '../topics/topic-names.js';
import type { PresenceStore } from './presence-store.js';

const USER_ID = /^[^\s\u0000-\u001f]{1,128}$/u;

export function presenceRoutes(deps: AdminAuthDeps & { presence: PresenceStore }): Router {
  const router = Router();
  router.get('/api/presence/topics/:topic', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const topic = String(req.params.topic);
    if (!TOPIC.test(topic)) throw new HttpError('VALIDATION_FAILED', `topic must match ${TOPIC}`, [{ path: 'topic', message: 'invalid topic' }]);
    const counts = (await readPresence(() => deps.presence.topicCounts(tenantId, [topic]))).get(topic)!;
    res.json({ topic, connections: counts.connections, users: counts.users });
  });
  router.get('/api/presence/users/:userId', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const userId = String(req.params.userId);
    if (!USER_ID.test(userId)) throw new HttpError('VALIDATION_FAILED', 'userId: no whitespace or control characters, up to 128', [{ path: 'userId', message: 'invalid user id' }]);
    const user = await readPresence(() => deps.presence.user(tenantId, userId));
    res.json({ userId, online: user.online, connections: user.connections, lastSeen: user.lastSeen === null ? null : new Date(user.lastSeen).toISOString() });
  });
  return router;
}

async function readPresence<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch {
    throw new HttpError('STORE_UNAVAILABLE', 'presence is unavailable, retry later');
  }
}
