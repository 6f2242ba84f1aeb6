/**
 * What a back end manages with its API key: channels, recipients' addresses, the
 * delivery queue, the audit log and a user's devices.
 */
import { z } from 'zod';
import { CHANNEL_TYPES, type ChannelType } from '../../delivery/channel.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../store/delivery-repository.js';
import { listQuery as auditQuery } from '../audit-routes.js';
import { channelBody } from '../channel-routes.js';
import { listQuery as deliveryQuery } from '../delivery-routes.js';
import { recipientBody } from '../recipient-routes.js';
import type { ApiOperation } from './api-operation.js';
import { channelNameParam, TENANT_FILTER_DOC, TENANT_QUERY_DOC, tenantQuery, userIdParam } from './api-parameters.js';
import { named } from './schema-registry.js';
import { timestamp } from './wire-schemas.js';

const channel = named(
  'Channel',
  z.object({
    tenantId: z.string(),
    name: z.string(),
    type: z.enum(CHANNEL_TYPES as [ChannelType, ...ChannelType[]]),
    url: z.string().optional().describe('credentials in the query keep their last 4 characters'),
    secret: z.string().optional().describe('`whsec_…last4`; in full only in the answer to a PUT that generated it'),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  }),
  'A channel as operators may see it: no secret in full.',
);
const channelInput = named('ChannelInput', channelBody, 'A webhook (optional `secret`: generated when left out), a WeCom robot, email or browser push.');
const channelAnswer = named('ChannelAnswer', z.object({ channel }));

const recipient = named(
  'Recipient',
  z.object({
    tenantId: z.string(),
    userId: z.string(),
    email: z.string().nullable(),
    mobile: z.string().nullable(),
    wecomUserId: z.string().nullable(),
    locale: z.string().nullable(),
    timezone: z.string().nullable(),
    updatedAt: timestamp(),
  }),
);
const recipientInput = named('RecipientInput', recipientBody, 'The whole record: a field left out is cleared.');
const recipientAnswer = named('RecipientAnswer', z.object({ recipient }));

const delivery = named(
  'Delivery',
  z.object({
    id: z.string(),
    tenantId: z.string(),
    messageId: z.string(),
    channel: z.string(),
    channelType: z.string(),
    recipient: z.string().nullable(),
    status: z.enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]),
    attempts: z.int().min(0),
    maxAttempts: z.int().min(0),
    lastError: z.string().nullable(),
    reason: z.string().nullable(),
    nextAttemptAt: timestamp().nullable(),
    createdAt: timestamp(),
    sentAt: timestamp().nullable(),
    digest: z.object({ key: z.string(), count: z.int() }).nullable().describe('a digest row: its key and how many deliveries it summarises'),
    digestId: z.string().nullable().describe('folded into this digest row'),
  }),
  'One message to one channel target; ends `sent`, `dead` or `suppressed` with a reason.',
);

const auditEntry = named(
  'AuditEntry',
  z.object({
    id: z.string(),
    tenantId: z.string(),
    actor: z.string().describe('`key:<key id>`'),
    action: z.string(),
    target: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
    createdAt: timestamp(),
  }),
);

const channelPath = { pathParams: z.object({ name: channelNameParam }), paramExamples: { name: 'ops-webhook' } };
const recipientPath = { pathParams: z.object({ userId: userIdParam }), paramExamples: { userId: 'demo-user' } };
const tenantDocs = { tenantId: TENANT_QUERY_DOC };
const nextCursor = z.string().nullable().describe('pass as `cursor` for the next page; null: no more');

export const adminOperations: ApiOperation[] = [
  {
    id: 'putChannel',
    method: 'put',
    path: '/api/channels/:name',
    tag: 'channels',
    summary: 'Create or replace a channel',
    description: 'URLs are checked against private and internal addresses when saved and on every send. Audited (`channel.put`).',
    auth: 'apiKey',
    ...channelPath,
    query: tenantQuery,
    paramDocs: { ...tenantDocs, name: 'The tenant\'s name for it.' },
    body: { schema: channelInput, example: { type: 'webhook', url: 'https://hooks.example.com/notify' } },
    responses: { 201: { description: 'Created.', schema: channelAnswer }, 200: { description: 'Replaced.', schema: channelAnswer } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listChannels',
    method: 'get',
    path: '/api/channels',
    tag: 'channels',
    summary: 'List channels',
    auth: 'apiKey',
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_FILTER_DOC },
    responses: { 200: { description: 'The channels.', schema: named('ChannelList', z.object({ channels: z.array(channel) })) } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'getChannel',
    method: 'get',
    path: '/api/channels/:name',
    tag: 'channels',
    summary: 'Read a channel',
    auth: 'apiKey',
    ...channelPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: { 200: { description: 'The channel.', schema: channelAnswer } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'deleteChannel',
    method: 'delete',
    path: '/api/channels/:name',
    tag: 'channels',
    summary: 'Delete a channel',
    description: 'Audited (`channel.delete`).',
    auth: 'apiKey',
    ...channelPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: { 204: { description: 'Deleted.' } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'putRecipient',
    method: 'put',
    path: '/api/recipients/:userId',
    tag: 'recipients',
    summary: 'Set a user\'s addresses for external channels',
    description: 'Replaces the whole record. Audited (`recipient.put`, field names only).',
    auth: 'apiKey',
    ...recipientPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    body: { schema: recipientInput, example: { email: 'ada@example.com', locale: 'en-GB', timezone: 'Europe/London' } },
    responses: { 201: { description: 'Created.', schema: recipientAnswer }, 200: { description: 'Replaced.', schema: recipientAnswer } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'getRecipient',
    method: 'get',
    path: '/api/recipients/:userId',
    tag: 'recipients',
    summary: 'Read a user\'s addresses',
    auth: 'apiKey',
    ...recipientPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: { 200: { description: 'The record.', schema: recipientAnswer } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'deleteRecipient',
    method: 'delete',
    path: '/api/recipients/:userId',
    tag: 'recipients',
    summary: 'Delete a user\'s addresses',
    description: 'Audited (`recipient.delete`).',
    auth: 'apiKey',
    ...recipientPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: { 204: { description: 'Deleted.' } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listDeliveries',
    method: 'get',
    path: '/api/deliveries',
    tag: 'deliveries',
    summary: 'List deliveries to external channels',
    description: 'Newest first.',
    auth: 'apiKey',
    query: deliveryQuery,
    paramDocs: { tenantId: TENANT_FILTER_DOC, messageId: 'Only the deliveries of this notification.', cursor: 'From the previous page\'s `nextCursor`.' },
    responses: { 200: { description: 'A page.', schema: named('DeliveryPage', z.object({ deliveries: z.array(delivery), nextCursor })) } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'retryDelivery',
    method: 'post',
    path: '/api/deliveries/:id/retry',
    tag: 'deliveries',
    summary: 'Retry a dead or failed delivery now',
    description: 'Attempts start again from zero. Audited (`delivery.retry`). An id that is not one of your deliveries is 404.',
    auth: 'apiKey',
    pathParams: z.object({ id: z.string() }),
    query: tenantQuery,
    paramDocs: { id: 'A delivery id.', tenantId: TENANT_FILTER_DOC },
    paramExamples: { id: '01928f6e-7d3a-7c4b-9e2f-0a1b2c3d4e5f' },
    responses: { 202: { description: 'Queued again.', schema: named('DeliveryAnswer', z.object({ delivery })) } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'CONFLICT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listAudit',
    method: 'get',
    path: '/api/audit',
    tag: 'audit',
    summary: 'List the audit log',
    description: 'Administrative changes and notifications of the kinds in AUDIT_KINDS, newest first.',
    auth: 'apiKey',
    query: auditQuery,
    paramDocs: { tenantId: TENANT_FILTER_DOC, action: 'e.g. `channel.put`, `notify`.', cursor: 'From the previous page\'s `nextCursor`.' },
    responses: { 200: { description: 'A page.', schema: named('AuditPage', z.object({ entries: z.array(auditEntry), nextCursor })) } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listDevices',
    method: 'get',
    path: '/api/users/:userId/devices',
    tag: 'devices',
    summary: 'List a user\'s devices',
    description: 'Most recently seen first; a connected device\'s `lastSeen` is now.',
    auth: 'apiKey',
    ...recipientPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: {
      200: {
        description: 'The devices.',
        schema: named('DeviceList', z.object({ devices: z.array(z.object({ deviceId: z.string(), lastSeen: timestamp(), connected: z.boolean() })) })),
      },
    },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
];
