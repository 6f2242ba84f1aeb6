/**
 * What changed, as the policy caches of every instance are told (policy-cache.ts): one
 * user's document, the tenant default, one kind's defaults, or (none of them named)
 * everything of the tenant. It travels between instances through the fan-out, so it is
 * checked on arrival like any input.
 */
import { z } from 'zod';

export interface PolicyChange {
  tenantId: string;
  userId?: string;
  kind?: string;
  tenantDefaults?: boolean;
}

// msgpack between instances may turn an absent field into null.
const fromWire = z.object({
  tenantId: z.string().min(1).max(64),
  userId: z.string().min(1).max(128).nullish(),
  kind: z.string().min(1).max(64).nullish(),
  tenantDefaults: z.boolean().nullish(),
});

/** A change from another instance, or null when it is not one. */
export function parsePolicyChange(raw: unknown): PolicyChange | null {
  const parsed = fromWire.safeParse(raw);
  if (!parsed.success) return null;
  const { tenantId, userId, kind, tenantDefaults } = parsed.data;
  return { tenantId, ...(userId != null && { userId }), ...(kind != null && { kind }), ...(tenantDefaults && { tenantDefaults }) };
}
