/**
 * Browser push subscriptions (user JWT): `POST /api/push-subscriptions` with
 * `PushSubscription.toJSON()` (+ optional `deviceId`) registers the signed-in user's
 * browser; `DELETE /api/push-subscriptions` with `{ endpoint }` removes it.
 * `GET /api/push/vapid-public-key` gives the key a browser subscribes with (public).
 * Endpoints are checked against SSRF when pushed (address-guard.ts), like webhook URLs.
 */
import { Router } from 'express';
import { z } from 'zod';
import { newMessageId } from '../outbox/message-id.js';
import type { PushSubscriptionRepository } from '../store/push-subscription-repository.js';
import { validationError } from './admin-auth.js';
import { HttpError } from './errors.js';
import { authenticate, type UserAuthDeps } from './user-auth.js';

export interface PushRouteDeps extends UserAuthDeps {
  pushSubscriptions: PushSubscriptionRepository;
  /** null when VAPID keys are not configured (web push off). */
  vapidPublicKey: string | null;
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, 'base64url');
export const subscriptionBody = z
  .object({
    endpoint: z.url({ protocol: /^https?$/ }).max(2048),
    expirationTime: z.number().nullable().optional(),
    keys: z.object({ p256dh: base64url.min(80).max(128), auth: base64url.min(16).max(64) }),
    deviceId: z.string().min(1).max(128).optional(),
  })
  .strict();

export function pushSubscriptionRoutes(deps: PushRouteDeps): Router {
  const router = Router();

  router.get('/api/push/vapid-public-key', (_req, res) => {
    if (!deps.vapidPublicKey) throw new HttpError('NOT_FOUND', 'web push is not configured on this gateway');
    res.json({ publicKey: deps.vapidPublicKey });
  });

  router.post('/api/push-subscriptions', async (req, res) => {
    const who = authenticate(deps, req, res, 'rest');
    if (!deps.vapidPublicKey) throw new HttpError('NOT_FOUND', 'web push is not configured on this gateway');
    const parsed = subscriptionBody.safeParse(req.body);
    if (!parsed.success) throw validationError('the push subscription is invalid', parsed.error.issues);
    const { endpoint, keys, deviceId } = parsed.data;
    const id = await deps.pushSubscriptions.upsert(newMessageId(), who.tenantId, who.userId, {
      endpoint,
      p256dh: keys.p256dh,
      auth: keys.auth,
      deviceId: deviceId ?? null,
    });
    res.status(201).json({ id });
  });

  router.delete('/api/push-subscriptions', async (req, res) => {
    const who = authenticate(deps, req, res, 'rest');
    const endpoint = (req.body as { endpoint?: unknown } | undefined)?.endpoint;
    if (typeof endpoint !== 'string') throw new HttpError('VALIDATION_FAILED', 'send { endpoint } of the subscription to remove');
    if (!(await deps.pushSubscriptions.deleteForUser(who.tenantId, who.userId, { endpoint }))) {
      throw new HttpError('NOT_FOUND', 'no such subscription for this user');
    }
    res.status(204).end();
  });

  return router;
}
