/**
 * Presence: who is connected, per topic and per user. The contract every driver keeps;
 * drivers are `local-presence.ts` (one process) and `redis-presence.ts` (REDIS_URL set).
 *
 * - A topic's count is its subscribers: `connections` (sockets holding the topic) and
 *   `users` (distinct users among them), per tenant. A user is online while any of their
 *   sockets is connected.
 * - Each instance counts its own sockets exactly, in memory (presence-counter.ts). Totals
 *   are sums over live instances; an instance that dies without goodbye is forgotten
 *   within the driver's expiry, never by a leave message it can no longer send.
 */
export interface PresenceCounts {
  connections: number;
  users: number;
}

export interface UserPresence {
  online: boolean;
  connections: number;
  /** Epoch ms: now while online, else when the user's last connection closed; null if unknown. */
  lastSeen: number | null;
}

export interface PresenceStore {
  readonly name: 'local' | 'redis';
  /** A socket of `userId` connected / disconnected. */
  connected(tenantId: string, userId: string): void;
  disconnected(tenantId: string, userId: string): void;
  /** A socket of `userId` now holds / no longer holds `topic`. */
  joined(tenantId: string, topic: string, userId: string): void;
  left(tenantId: string, topic: string, userId: string): void;
  /** Counts across every live instance, one per topic asked. */
  topicCounts(tenantId: string, topics: readonly string[]): Promise<Map<string, PresenceCounts>>;
  user(tenantId: string, userId: string): Promise<UserPresence>;
  /** Topics with subscribers on this instance (a metric). */
  localTopics(): number;
  close(): Promise<void>;
}
