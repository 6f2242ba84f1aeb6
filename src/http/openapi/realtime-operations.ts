/**
 * The live side over HTTP: the SSE stream (stream-route.ts), presence for back ends
 * (presence/presence-routes.ts) and browser push subscriptions (push-subscription-routes.ts).
 * The Socket.IO protocol itself is in the README ("Socket.IO").
 */
import { z } from 'zod';
import { subscriptionBody } from '../push-subscription-routes.js';
import type { ApiOperation } from './api-operation.js';
import { TENANT_QUERY_DOC, tenantQuery, topicParam, userIdParam } from './api-parameters.js';
import { named } from './schema-registry.js';
import { timestamp } from './wire-schemas.js';

const resumeId = z.string().min(1).max(64);

const pushSubscription = named(
  'PushSubscriptionInput',
  subscriptionBody,
  '`PushSubscription.toJSON()` of the browser, and optionally the device it belongs to.',
);

export const realtimeOperations: ApiOperation[] = [
  {
    id: 'openStream',
    method: 'get',
    path: '/api/stream',
    tag: 'stream',
    summary: 'Server-Sent Events: the user\'s notifications, live',
    description:
      'The same stream, in the same order, as the socket. Events: `notification` (with `id:`), `synced { replayed, recovered }` ' +
      'once the replay is done, state echoes `read`, `notification:seen`, `notification:archived`, and `error` ' +
      '`{ code: "TOKEN_EXPIRED" }` when the token\'s `exp` passes (reconnect with a fresh token and `Last-Event-ID`).',
    auth: 'userTokenOrQuery',
    query: z.object({ lastEventId: resumeId.optional() }),
    headers: z.object({ 'Last-Event-ID': resumeId.optional() }),
    paramDocs: {
      lastEventId: 'Resume after this notification id (for clients that cannot set `Last-Event-ID`).',
      'Last-Event-ID': 'Resume after this notification id; unknown or too old: from now, `synced.recovered=false`.',
    },
    responses: { 200: { description: 'The event stream; open until the client leaves or the token expires.', mediaType: 'text/event-stream' } },
    errors: ['RATE_LIMITED', 'TOO_MANY_CONNECTIONS', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'topicPresence',
    method: 'get',
    path: '/api/presence/topics/:topic',
    tag: 'presence',
    summary: 'Who holds a topic',
    description: 'Counted across every live instance.',
    auth: 'apiKey',
    pathParams: z.object({ topic: topicParam }),
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    paramExamples: { topic: 'order:42' },
    responses: {
      200: {
        description: 'Connections and distinct users holding it.',
        schema: named('TopicPresence', z.object({ topic: z.string(), connections: z.int().min(0), users: z.int().min(0) })),
      },
    },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'userPresence',
    method: 'get',
    path: '/api/presence/users/:userId',
    tag: 'presence',
    summary: 'Whether a user is online',
    auth: 'apiKey',
    pathParams: z.object({ userId: userIdParam }),
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    paramExamples: { userId: 'demo-user' },
    responses: {
      200: {
        description: 'Online state across every live instance.',
        schema: named(
          'UserPresence',
          z.object({
            userId: z.string(),
            online: z.boolean(),
            connections: z.int().min(0),
            lastSeen: timestamp().nullable().describe('now while online; null when never seen or forgotten'),
          }),
        ),
      },
    },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'vapidPublicKey',
    method: 'get',
    path: '/api/push/vapid-public-key',
    tag: 'push',
    summary: 'The key a browser subscribes to push with',
    auth: 'none',
    responses: { 200: { description: 'The VAPID public key.', schema: named('VapidPublicKey', z.object({ publicKey: z.string() })) } },
    errors: ['NOT_FOUND'],
  },
  {
    id: 'subscribePush',
    method: 'post',
    path: '/api/push-subscriptions',
    tag: 'push',
    summary: 'Register this browser for push',
    description: 'The endpoint is checked against private and internal addresses. 404 when web push is not configured.',
    auth: 'userToken',
    body: {
      schema: pushSubscription,
      example: {
        endpoint: 'https://push.example.net/send/abc123',
        expirationTime: null,
        keys: {
          p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
          auth: 'tBHItJI5svbpez7KI4CCXg',
        },
      },
    },
    responses: { 201: { description: 'Registered (or refreshed).', schema: named('PushSubscriptionCreated', z.object({ id: z.string() })) } },
    errors: ['NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'unsubscribePush',
    method: 'delete',
    path: '/api/push-subscriptions',
    tag: 'push',
    summary: 'Remove this browser\'s push subscription',
    auth: 'userToken',
    body: {
      schema: named('PushUnsubscribe', z.object({ endpoint: z.string() }), 'The endpoint of the subscription to remove.'),
      example: { endpoint: 'https://push.example.net/send/abc123' },
    },
    responses: { 204: { description: 'Removed.' } },
    errors: ['NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
];
