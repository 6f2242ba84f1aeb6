/**
 * Parameters several routes share, built from the patterns the routes check them with,
 * and the response headers of limits and outages.
 */
import { z } from 'zod';
import { TENANT_ID } from '../../config/config.js';
import { TOPIC } from '../../topics/topic-names.js';
import { CHANNEL_NAME, KIND } from '../notify-schema.js';
import { USER_ID } from '../recipient-routes.js';
import type { ResponseHeaderDoc } from './api-operation.js';

export const kindParam = z.string().regex(KIND);
export const userIdParam = z.string().regex(USER_ID);
export const tenantIdParam = z.string().regex(TENANT_ID);
export const channelNameParam = z.string().regex(CHANNEL_NAME);
export const topicParam = z.string().regex(TOPIC);

/** `?tenantId=` of the API-key routes (admin-auth.ts). */
export const tenantQuery = z.object({ tenantId: tenantIdParam.optional() });

export const TENANT_QUERY_DOC =
  'The tenant to act on. A key bound to a tenant acts on its own (another one: 403 FORBIDDEN_TENANT); a key for any tenant names one (default `default`).';

export const TENANT_FILTER_DOC =
  'Only this tenant. A key bound to a tenant sees its own; a key for any tenant sees every tenant unless it names one.';

export const retryAfter: ResponseHeaderDoc = {
  name: 'Retry-After',
  description: 'Seconds to wait before retrying.',
  schema: { type: 'integer', minimum: 1 },
};

/** Sent on every notify answer that was counted against the key's limits (README "Limits"). */
export const rateLimitHeaders: readonly ResponseHeaderDoc[] = [
  { name: 'RateLimit-Limit', description: 'Budget of the limit closest to exhaustion, per window.', schema: { type: 'integer' } },
  { name: 'RateLimit-Remaining', description: 'What is left of that budget in this window.', schema: { type: 'integer' } },
  { name: 'RateLimit-Reset', description: 'Seconds until the window ends.', schema: { type: 'integer' } },
  { name: 'RateLimit-Policy', description: 'Every limit counted, e.g. `2000;w=10;comment="notify_requests"`.', schema: { type: 'string' } },
];
