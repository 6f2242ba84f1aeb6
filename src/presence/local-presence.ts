/** One process: this instance's counts are all there is. `lastSeen` is kept for the most recent users (bounded). */
import { ExpiringLru } from '../policy/expiring-lru.js';
import { PresenceCounter, sumCounts, topicKey, usersKey } from './presence-counter.js';
import type { PresenceCounts, PresenceStore } from './presence-store.js';

const LAST_SEEN_ENTRIES = 100_000;
const LAST_SEEN_TTL_MS = 30 * 86_400_000;

export function createLocalPresence(): PresenceStore {
  const counter = new PresenceCounter(false);
  const lastSeen = new ExpiringLru<number>(LAST_SEEN_ENTRIES, LAST_SEEN_TTL_MS);
  const seenKey = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`;
  return {
    name: 'local',
    connected: (tenantId, userId) => void counter.add(usersKey(tenantId), userId, 1),
    disconnected(tenantId, userId) {
      if (counter.add(usersKey(tenantId), userId, -1) === 0) lastSeen.set(seenKey(tenantId, userId), Date.now());
    },
    joined: (tenantId, topic, userId) => void counter.add(topicKey(tenantId, topic), userId, 1),
    left: (tenantId, topic, userId) => void counter.add(topicKey(tenantId, topic), userId, -1),
    async topicCounts(tenantId, topics) {
      const counts = new Map<string, PresenceCounts>();
      for (const topic of topics) counts.set(topic, sumCounts(counter.users(topicKey(tenantId, topic))));
      return counts;
    },
    async user(tenantId, userId) {
      const connections = counter.count(usersKey(tenantId), userId);
      if (connections > 0) return { online: true, connections, lastSeen: Date.now() };
      return { online: false, connections: 0, lastSeen: lastSeen.peek(seenKey(tenantId, userId))?.value ?? null };
    },
    localTopics: () => counter.topicKeyCount(),
    async close() {},
  };
}
