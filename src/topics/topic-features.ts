/**
 * Topics, transient notifications and presence for one gateway instance: built from
 * config, handed to the socket gateway (sessions), the notify routes (transient emits)
 * and the HTTP app (presence routes). Presence lives in Redis when the gateway has one.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { RedisClient } from '../redis/redis-client.js';
import type { Namespace } from 'socket.io';
import type { AppNamespaces } from '../realtime/app-namespaces.js';
import type { Config } from '../config/config.js';
import { presenceRoutes } from '../presence/presence-routes.js';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createLocalPresence } from '../presence/local-presence.js';
import type { PresenceStore } from '../presence/presence-store.js';
import { PresenceWatchers } from '../presence/presence-watchers.js';
import { createRedisPresence } from '../presence/redis-presence.js';
import { SubscribeCheck } from './subscribe-check.js';
import { TopicAuthorizer } from './topic-authorizer.js';
import { createTopicMetrics } from './topic-metrics.js';
import { TopicSessions } from './topic-session.js';
import { createTransientEmitter, type TransientEmitter } from './transient-emitter.js';
import { compatNotifyRoute } from './compat-notify-route.js';
import type { NotifyDeps } from '../http/notify-input.js';

export interface TopicFeatures {
  readonly sessions: TopicSessions;
  readonly emitTransient: TransientEmitter;
  readonly presence: PresenceStore;
  readonly router: Router;
  start(): void;
  close(): Promise<void>;
}

export interface TopicFeatureDeps {
  config: Config;
  /** Every app's namespace: presence and transient emits go to the tenant's app. */
  namespaces: AppNamespaces;
  /** The gateway's Redis connection for shared state, or null (one process). */
  redis: RedisClient | null;
  metrics: Metrics;
  logger: Logger;
  checkApiKey: (presented: string | undefined) => ApiKeyGrant | null;
  /** The notify path (`POST /notify` goes through it); built after these features, which it needs for transient emits. */
  notify: () => NotifyDeps;
}

export async function createTopicFeatures(deps: TopicFeatureDeps): Promise<TopicFeatures> {
  const { config, logger } = deps;
  const presence = deps.redis
    ? await createRedisPresence({
        redis: deps.redis,
        keyPrefix: config.REDIS_KEY_PREFIX,
        instanceId: randomUUID(),
        ttlMs: config.PRESENCE_TTL_SECONDS * 1000,
        logger,
      })
    : createLocalPresence();
  const watchers = new PresenceWatchers((key) => deps.namespaces.ofTenant(key) as Namespace | undefined, presence, config.PRESENCE_INTERVAL_MS, logger);
  const metrics = createTopicMetrics(deps.metrics.registry, {
    watchers: () => watchers.watcherCount(),
    watchedTopics: () => watchers.watchedTopics(),
    localTopics: () => presence.localTopics(),
  });
  const check = config.SUBSCRIBE_CHECK_URL
    ? new SubscribeCheck({
        url: config.SUBSCRIBE_CHECK_URL,
        timeoutMs: config.SUBSCRIBE_CHECK_TIMEOUT_MS,
        cacheTtlMs: config.SUBSCRIBE_CHECK_CACHE_SECONDS * 1000,
        cacheEntries: config.SUBSCRIBE_CHECK_CACHE_ENTRIES,
        onOutcome: metrics.checked,
      })
    : null;
  const sessions = new TopicSessions({
    authorizer: new TopicAuthorizer(check),
    presence,
    watchers,
    maxTopicsPerSocket: config.MAX_TOPICS_PER_SOCKET,
    metrics,
    logger,
  });
  const emitTransient = createTransientEmitter({
    emit: (tenantKey, rooms, notification) => deps.namespaces.ofTenant(tenantKey)?.to(rooms).emit('notification', notification),
    counted: metrics.transient,
  });
  return {
    sessions,
    emitTransient,
    presence,
    router: Router().use(presenceRoutes({ checkApiKey: deps.checkApiKey, metrics: deps.metrics, presence }), compatNotifyRoute(deps.notify)),
    start: () => watchers.start(),
    async close() {
      watchers.stop();
      await presence.close();
    },
  };
}
