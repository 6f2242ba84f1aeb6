/**
 * Topic names, the claim patterns that grant them, and the one place each room or key
 * name of a topic is built (so that an app id can later be added to all of them here).
 *
 * - A topic is per tenant: `order:42` of tenant acme and of tenant beta are two topics.
 *   Tenant ids never contain ':' (config.ts), so `topic:<tenant>:<topic>` cannot collide.
 * - A token's `topics` claim lists patterns: a topic, or one with `*` standing for any run
 *   of characters (`order:*`, `chat:room-*`), matched like kind patterns.
 */
import { kindMatches as wildcardMatches } from '../policy/preferences.js';

export const TOPIC = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const TOPIC_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9_.:*-]{0,127}$/;
/** Most topics one notification may name. */
export const MAX_TOPICS_PER_NOTIFICATION = 100;
/** Most patterns read from a token's `topics` claim; the rest are ignored. */
const MAX_CLAIM_PATTERNS = 100;

/** The Socket.IO room of a topic's subscribers (every instance, through the adapter). */
export const topicRoom = (tenantId: string, topic: string) => `topic:${tenantId}:${topic}`;

/** The room of a topic's presence watchers on this instance (emitted to locally only). */
export const presenceRoom = (tenantId: string, topic: string) => `presence:${tenantId}:${topic}`;

/** The claim's patterns that are well-formed; anything else grants nothing. */
export function claimPatterns(claim: unknown): readonly string[] {
  if (!Array.isArray(claim)) return [];
  return claim.filter((p): p is string => typeof p === 'string' && TOPIC_PATTERN.test(p)).slice(0, MAX_CLAIM_PATTERNS);
}

export function claimGrants(patterns: readonly string[], topic: string): boolean {
  return patterns.some((pattern) => wildcardMatches(pattern, topic));
}
