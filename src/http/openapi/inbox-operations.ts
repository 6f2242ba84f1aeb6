/** The notification center of the signed-in user (inbox-routes.ts, inbox-state-routes.ts). */
import { z } from 'zod';
import { listQuery } from '../inbox-routes.js';
import { notificationId, seenBody } from '../inbox-state-routes.js';
import type { ApiOperation } from './api-operation.js';
import { named } from './schema-registry.js';
import { inboxNotification, notification, timestamp } from './wire-schemas.js';

const historyPage = named(
  'NotificationHistoryPage',
  z.object({ items: z.array(inboxNotification), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null: no more') }),
  'History, newest first.',
);
const streamSlice = named(
  'NotificationStreamSlice',
  z.object({
    items: z.array(notification),
    lastId: z.string().nullable().describe('the position to ask `after` next'),
    recovered: z.boolean().describe('false: the position was unknown or too old; load history instead'),
  }),
  'With `after`: what follows a position, in commit order (polling).',
);
const notificationList = named('NotificationList', z.union([historyPage, streamSlice]), 'History, or with `after` a slice of the stream.');

const seenAnswer = named(
  'SeenChanged',
  z.object({ ids: z.array(z.string()).describe('the ids that changed'), until: timestamp().optional() }),
  'What became seen.',
);
const seenRequest = named('SeenRequest', seenBody, 'Exactly one of `until` (everything created up to then) or `ids` (ids not yours change nothing).');

const archivedAnswer = named('ArchiveAnswer', z.object({ id: z.string(), archived: z.boolean(), changed: z.boolean() }));

const idParams = z.object({ id: notificationId });
const idDocs = { id: 'A notification id.' };
const idExamples = { id: '01JB8Z6W3X4Y5Z6A7B8C9D0E1F' };

export const inboxOperations: ApiOperation[] = [
  {
    id: 'listNotifications',
    method: 'get',
    path: '/api/notifications',
    tag: 'notification center',
    summary: 'List the user\'s notifications',
    description:
      'Newest first, with an opaque cursor that stays valid under any filter; absent `status`, everything not archived. ' +
      'With `after=<id>` (or `start`) instead: the commit-ordered stream after that position, for polling.',
    auth: 'userToken',
    query: listQuery,
    paramDocs: {
      limit: 'Items per page.',
      cursor: 'From the previous page\'s `nextCursor`.',
      unread: 'Older spelling of `status=unread`.',
      includeMuted: 'Also rows muted by the user\'s preferences (flagged `muted: true`).',
      after: 'Stream mode: a notification id, `start`, or empty for the head position only.',
    },
    responses: { 200: { description: 'A page.', schema: notificationList } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'countUnread',
    method: 'get',
    path: '/api/notifications/unread-count',
    tag: 'notification center',
    summary: 'Count unread and unseen notifications',
    auth: 'userToken',
    responses: {
      200: {
        description: 'Counts; neither includes archived or muted rows.',
        schema: named('UnreadCount', z.object({ count: z.int().min(0).describe('unread'), unseen: z.int().min(0).describe('not seen yet') })),
      },
    },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'markAllRead',
    method: 'post',
    path: '/api/notifications/read-all',
    tag: 'notification center',
    summary: 'Mark every notification read',
    description: 'Leaves muted rows alone. Echoed to the user\'s other sessions as `notification:read`.',
    auth: 'userToken',
    responses: { 200: { description: 'How many changed.', schema: named('ReadAllAnswer', z.object({ marked: z.int().min(0) })) } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'markSeen',
    method: 'post',
    path: '/api/notifications/seen',
    tag: 'notification center',
    summary: 'Mark notifications seen (the bell was opened)',
    auth: 'userToken',
    body: { schema: seenRequest, example: { until: '2025-06-01T12:00:00.000Z' } },
    responses: { 200: { description: 'What changed; echoed as `notification:seen`.', schema: seenAnswer } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'markRead',
    method: 'post',
    path: '/api/notifications/:id/read',
    tag: 'notification center',
    summary: 'Mark one notification read (and seen)',
    auth: 'userToken',
    pathParams: idParams,
    paramDocs: idDocs,
    paramExamples: idExamples,
    responses: {
      200: {
        description: '`changed: false` when it was read already.',
        schema: named('ReadAnswer', z.object({ id: z.string(), read: z.literal(true), changed: z.boolean() })),
      },
    },
    errors: ['NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  ...(['archive', 'unarchive'] as const).map(
    (action): ApiOperation => ({
      id: `${action}Notification`,
      method: 'post',
      path: `/api/notifications/:id/${action}`,
      tag: 'notification center',
      summary: action === 'archive' ? 'Archive one notification' : 'Bring one notification back from the archive',
      auth: 'userToken',
      pathParams: idParams,
      paramDocs: idDocs,
      paramExamples: idExamples,
      responses: { 200: { description: 'Echoed as `notification:archived`.', schema: archivedAnswer } },
      errors: ['NOT_FOUND', 'STORE_UNAVAILABLE'],
    }),
  ),
];
