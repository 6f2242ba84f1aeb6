/** The body of POST /api/notify/:kind (README "Contract"). */
import { z } from 'zod';
import { TENANT_ID } from '../config/config.js';
import { topicAndTransientIssues } from '../topics/topic-notify-rules.js';
import { MAX_TOPICS_PER_NOTIFICATION, TOPIC } from '../topics/topic-names.js';
import { deviceIssues, devicesField } from '../devices/device-targets.js';
import { MAX_SEGMENTS_PER_NOTIFICATION, SEGMENT_NAME, SEGMENT_NAME_MESSAGE } from '../segments/segment-names.js';
import { segmentIssues } from '../segments/segment-notify-rules.js';

export const KIND = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const MAX_RECIPIENTS = 1000;
/** Serialised `data` limit; larger payloads belong in the product's own API. */
export const MAX_DATA_BYTES = 8 * 1024;

/** A tenant's channel name (`PUT /api/channels/:name`). */
export const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_CHANNELS_PER_NOTIFICATION = 10;
const MAX_MENTIONS = 100;

const httpLink = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

const userId = z.string().min(1).max(128).regex(/^[^\s\u0000-\u001f]+$/u, 'must not contain whitespace or control characters');

export const notifyBodySchema = z
  .object({
    userId: userId.optional(),
    userIds: z.array(userId).min(1).max(MAX_RECIPIENTS).optional(),
    tenantId: z.string().regex(TENANT_ID, 'letters, digits, "_", "." or "-", up to 64').optional(),
    /** `app`: every user of the app (the API key's), stored once (apps/app-scope.ts). */
    scope: z.enum(['user', 'tenant', 'app']).default('user'),
    title: z.string().trim().min(1).max(256),
    body: z.string().max(4000).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    priority: z.enum(['low', 'medium', 'high', 'urgent']).default('medium'),
    dedupeKey: z.string().min(1).max(191).optional(),
    ttlSeconds: z.number().int().min(1).max(30 * 24 * 3600).optional(),
    /** Tenant channels to deliver through besides in-app. */
    channels: z.array(z.string().regex(CHANNEL_NAME, 'a channel name')).min(1).max(MAX_CHANNELS_PER_NOTIFICATION).optional(),
    /** Where external messages point (into the app). */
    link: httpLink.optional(),
    /** WeCom @-mentions. */
    mentions: z
      .object({
        userIds: z.array(z.string().min(1).max(64)).max(MAX_MENTIONS).optional(),
        mobiles: z.array(z.string().regex(/^\+?[0-9]{5,20}$/, 'digits, optionally with a leading +')).max(MAX_MENTIONS).optional(),
        all: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** "summary" (default): external copies carry title, kind and link only; "full": body and data too. */
    external: z.enum(['summary', 'full']).optional(),
    /** Digests group deliveries by this key (default: the kind). */
    digestKey: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'letters, digits, "_", ".", ":" or "-", up to 128').optional(),
    /** A target instead of users or the tenant: the tenant's subscribers of these topics (topics/). */
    topics: z.array(z.string().regex(TOPIC, 'a topic: letters, digits, "_", ".", ":" or "-", up to 128')).min(1).max(MAX_TOPICS_PER_NOTIFICATION).optional(),
    /** Live only: emitted at once, never stored, listed or replayed (topics/transient-emitter.ts). */
    transient: z.boolean().optional(),
    /** With `userId`: only these devices of the user (devices/device-targets.ts). */
    devices: devicesField.optional(),
    /** A target instead of users: the members of these segments when it is delivered (segments/). */
    segments: z.array(z.string().regex(SEGMENT_NAME, SEGMENT_NAME_MESSAGE)).min(1).max(MAX_SEGMENTS_PER_NOTIFICATION).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const addressed = body.userId !== undefined || body.userIds !== undefined;
    if (body.userId !== undefined && body.userIds !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['userIds'], message: 'give userId or userIds, not both' });
    }
    if (body.scope === 'user' && !addressed && body.topics === undefined && body.segments === undefined) {
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'scope "user" needs userId or userIds (or give topics or segments)' });
    }
    if ((body.mentions !== undefined || body.external !== undefined) && body.channels === undefined) {
      ctx.addIssue({ code: 'custom', path: ['channels'], message: 'mentions and external apply to channels: name at least one' });
    }
    if (body.scope === 'tenant' && addressed) {
      ctx.addIssue({ code: 'custom', path: ['scope'], message: 'scope "tenant" goes to the whole tenant: omit userId(s)' });
    }
    if (body.scope === 'app') {
      for (const field of ['userId', 'userIds', 'tenantId', 'channels', 'link', 'digestKey', 'topics', 'devices'] as const) {
        if (body[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `scope "app" reaches every user of the app in-app: no ${field}` });
      }
    }
    for (const issue of topicAndTransientIssues(body)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of deviceIssues(body)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of segmentIssues(body)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type NotifyBody = z.infer<typeof notifyBodySchema>;
