/**
 * Shapes the API answers with that several areas share: the error body and the
 * notification as clients receive it (the contract of src/client/types.ts).
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { named } from './schema-registry.js';

/** An ISO 8601 UTC time, as `Date.prototype.toISOString` writes it. */
export const timestamp = () => z.string().meta({ format: 'date-time' });

const errorCodes = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const errorObject = z.object({
  code: z.enum(errorCodes).describe('stable; the HTTP status follows from it'),
  message: z.string().describe('for people; may change'),
  details: z.unknown().optional().describe('VALIDATION_FAILED: `[{ path, message }]` naming each bad field; limits: what was exceeded'),
});

export const errorBody = named('Error', z.object({ error: errorObject }), 'Every error answer: a stable code from one catalogue, a message, and details where they help.');

export const notification = named(
  'Notification',
  z.object({
    id: z.string().describe('unique; also the resume position (`lastAckId`, `Last-Event-ID`)'),
    kind: z.string(),
    title: z.string(),
    body: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
    priority: z.enum(['low', 'medium', 'high', 'urgent']),
    scope: z.enum(['user', 'tenant', 'topic']),
    tenantId: z.string(),
    createdAt: timestamp(),
    topics: z.array(z.string()).optional().describe('scope "topic": the topics it was sent to'),
    devices: z.array(z.string()).optional().describe('sent to these devices of the user only'),
  }),
  'A notification as clients receive it (socket `notification`, SSE, REST).',
);

export const inboxNotification = named(
  'InboxNotification',
  notification.extend({
    read: z.boolean(),
    readAt: timestamp().nullable(),
    seen: z.boolean(),
    archived: z.boolean(),
    archivedAt: timestamp().nullable(),
    muted: z.literal(true).optional().describe('only with `includeMuted=1`: muted by the user\'s preferences'),
  }),
  'A notification of the notification center, with this user\'s states.',
);
