/**
 * One gateway instance, wired from config: store → fan-out → Socket.IO → relay → HTTP.
 * main.ts runs one; tests run several in one process (each with its own registry).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { createApiKeyChecker } from './auth/api-keys.js';
import { createTokenVerifier } from './auth/user-token.js';
import type { Config } from './config/config.js';
import { createChannelDrivers } from './delivery/channel-drivers.js';
import { DeliveryPlanner } from './delivery/delivery-planner.js';
import { DeliveryWorker } from './delivery/delivery-worker.js';
import { createApp, type AppDeps } from './http/app.js';
import { channelRoutes } from './http/channel-routes.js';
import { deliveryRoutes } from './http/delivery-routes.js';
import { pushSubscriptionRoutes } from './http/push-subscription-routes.js';
import { preferenceRoutes } from './http/preference-routes.js';
import { recipientRoutes } from './http/recipient-routes.js';
import { deviceRoutes } from './http/device-routes.js';
import { segmentRoutes } from './http/segment-routes.js';
import { connectedDevicesOf } from './devices/connected-devices.js';
import { DeviceLastSeen } from './devices/device-last-seen.js';
import { healthRoutes } from './http/health-routes.js';
import { inboxRoutes } from './http/inbox-routes.js';
import { createStateEcho } from './http/state-echo.js';
import { sdkRoutes } from './http/sdk-routes.js';
import { openApiRoute } from './http/openapi/openapi-route.js';
import { httpServerOptions } from './http/server-timeouts.js';
import { streamRoute } from './http/stream-route.js';
import { notifyBatchRoute } from './http/notify-batch-route.js';
import { auditRoutes } from './http/audit-routes.js';
import { auditedKinds, createNotifyAudit } from './http/notify-audit.js';
import { createNotifyLimiter } from './http/notify-limits.js';
import { createConnectionLimits } from './limits/connection-limits.js';
import type { NotifyDeps } from './http/notify-input.js';
import { notifyRoute } from './http/notify-route.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { NotificationWriter, type WriterHooks } from './outbox/notification-writer.js';
import { OutboxRelay, type RelayHooks } from './outbox/outbox-relay.js';
import { WriteBatcher } from './outbox/write-batcher.js';
import { PolicyCache } from './policy/policy-cache.js';
import { openRecipientLimits } from './delivery/recipient-limits.js';
import type { PolicyChange } from './policy/policy-change.js';
import { OUT_OF_BAND_EVENT, outOfBandEmits } from './realtime/out-of-band.js';
import { createFanout } from './realtime/fanout-from-config.js';
import { createRedisClient, redisTargetOf } from './redis/redis-client.js';
import { withReplayHold } from './realtime/replay-hold.js';
import { RelayEmits } from './realtime/relay-emits.js';
import { createSocketServer, MAX_SOCKET_PACKET_BYTES } from './realtime/socket-server.js';
import { startSlowConsumerGuard } from './realtime/slow-consumer-guard.js';
import { attachSocketGateway, type GatewayServer, type OutageHandling, type ReplayHooks } from './realtime/socket-gateway.js';
import { startRetentionSweeper } from './store/retention-sweeper.js';
import { createTopicFeatures } from './topics/topic-features.js';
import { servedApps } from './apps/app-scope.js';
import { AppNamespaces } from './realtime/app-namespaces.js';
import { createStore, type Store } from './store/store.js';
import type { ConsumerLease } from './stream/consumer-lease.js';
import { LocalLease } from './stream/local-lease.js';
import { leasesInUse, MysqlLease } from './stream/mysql-lease.js';
import { LeaseShare, refreshLeaseShares } from './stream/lease-share.js';
import { settleStreamLayout } from './stream/stream-layout.js';
import { consumerName, partitionOf, partitionsOf, type StreamLayoutChanged } from './stream/stream-partitions.js';

export interface GatewayOptions {
  logger?: Logger;
  /** Default process metrics (off when several instances share a test process). */
  defaultMetrics?: boolean;
  hooks?: { writer?: WriterHooks; relay?: RelayHooks; replay?: ReplayHooks };
  /** Serve on a host's HTTP server instead of one of our own (embed.ts); unset: standalone. */
  host?: GatewayHost;
  /**
   * Another process moved the stream to another partition count: this one's writes now
   * fail (503) until it restarts. Standalone, main.ts exits so the supervisor restarts it.
   */
  onStreamLayoutChanged?: (change: StreamLayoutChanged) => void;
}

export interface GatewayHost {
  httpServer: HttpServer;
  /** Socket.IO's path on it. @default "/socket.io" */
  socketPath?: string | undefined;
}

export interface Gateway {
  readonly config: Config;
  readonly store: Store;
  readonly io: GatewayServer;
  /** The relay of partition 0 (the only one without STREAM_PARTITIONS). */
  readonly relay: OutboxRelay;
  /** Partition 0's relay lease. */
  readonly lease: ConsumerLease;
  /** The planner of partition 0. */
  readonly planner: DeliveryPlanner;
  /** One relay and one planner per stream partition, partition p at index p. */
  readonly relays: readonly OutboxRelay[];
  readonly planners: readonly DeliveryPlanner[];
  /** The leases of those relays and planners, partition p at index p: which partitions this instance leads. */
  readonly streamLeases: { readonly realtime: readonly ConsumerLease[]; readonly deliveries: readonly ConsumerLease[] };
  readonly worker: DeliveryWorker | null;
  readonly metrics: Metrics;
  readonly writer: NotificationWriter;
  readonly httpServer: HttpServer;
  /** 'advance' is emitted on every instance after the relay published a batch. */
  readonly streamAdvanced: EventEmitter;
  /** Preferences and kind defaults for policy decisions (policy/policy.ts), cached and invalidated across instances. */
  readonly policies: PolicyCache;
  /** The routes and their error handling: createApp serves them standalone, embed-routes.ts on a host's app. */
  readonly httpRoutes: AppDeps;
  /** Listens on our own server, then start(); embedded, the host listens instead. */
  listen(port?: number, host?: string): Promise<number>;
  /** The background work: relay, planner, delivery worker, topics, slow-consumer guard, sweeper (once). */
  start(): void;
  /** Stops what the gateway started; the HTTP server only when it is the gateway's own. */
  close(): Promise<void>;
}

export { MAX_SOCKET_PACKET_BYTES };

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const store = createStore(config.DATABASE_URL, {
    poolMax: config.DB_POOL_MAX,
    acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
  });
  await store.migrate();
  const partitions = partitionsOf(
    await settleStreamLayout(
      store,
      config.STREAM_PARTITIONS,
      store.dialect.name === 'mysql' ? (consumers) => leasesInUse(config.DATABASE_URL, store.identity, consumers) : async () => [],
      logger,
    ).catch(async (error: unknown) => {
      await store.close();
      throw error;
    }),
  );

  // Each partition may have 2 writes in flight plus its relay's and planner's reads.
  if (store.dialect.name === 'mysql' && partitions.length > 1 && config.DB_POOL_MAX < 4 * partitions.length) {
    logger.warn(
      { DB_POOL_MAX: config.DB_POOL_MAX, STREAM_PARTITIONS: partitions.length },
      'DB_POOL_MAX is below 4 × STREAM_PARTITIONS: writes of different partitions will wait for connections',
    );
  }

  // REDIS_URL or REDIS_CLUSTER_NODES (src/redis/redis-client.ts); neither: one process.
  const redisTarget = redisTargetOf(config);
  const fanout = createFanout(redisTarget, config.REDIS_KEY_PREFIX, logger);
  const leaseFor = (consumer: string): ConsumerLease =>
    store.dialect.name === 'mysql' ? new MysqlLease(config.DATABASE_URL, store.identity, logger, consumer) : new LocalLease();
  const relayLeases = partitions.map((p) => leaseFor(consumerName('realtime', p.index)));
  const plannerLeases = partitions.map((p) => leaseFor(consumerName('deliveries', p.index)));
  const lease = relayLeases[0]!;
  // Partitions' leases spread over the instances (stream/lease-share.ts).
  const relayShare = new LeaseShare(relayLeases);
  const plannerShare = new LeaseShare(plannerLeases);
  const metrics = createMetrics({
    defaultMetrics: options.defaultMetrics ?? true,
    relayPartitionsLed: () => relayLeases.filter((l) => l.isHeld()).length,
    streamPartitions: partitions.length,
    outboxState: () => store.stream.backlog('realtime', partitions.length),
    deliveryQueue: () => store.deliveries.stats(),
    kindLabels: { registered: config.METRIC_KINDS, limit: config.METRIC_KIND_LIMIT },
  });
  const policies = new PolicyCache(store.preferences, {
    maxEntries: config.POLICY_CACHE_ENTRIES,
    ttlMs: config.POLICY_CACHE_TTL_SECONDS * 1000,
    onLookup: (result, count) => metrics.policyCacheLookups.inc({ result }, count),
  });
  // A change made here: drop it here now, and on every other instance through the fan-out.
  const policyChanged = (change: PolicyChange) => {
    policies.invalidate(change);
    fanout.announcePolicyChange(change);
  };

  // Standalone, the app is the request listener from the start: Socket.IO's attach() then
  // wraps it, so long-polling requests on /socket.io/ reach engine.io only (a listener added
  // after attach() also answered them with a 404, breaking the polling transport).
  // Embedded, the server and its listener are the host's (embed.ts).
  const httpServer = options.host?.httpServer ?? createServer(httpServerOptions(config), (req, res) => app!(req, res));
  const sockets = createSocketServer(httpServer, {
    adapter: withReplayHold(fanout.adapter, (kind, delivered) => metrics.delivered.inc({ kind }, delivered)),
    config,
    ...(options.host && { path: options.host.socketPath, hostServer: true }),
  });
  const io = sockets.io;
  // One namespace per app (the default app is `/`), each with the same handshake rules.
  const apps = servedApps(config.NOTIFY_API_KEYS);
  const namespaces = new AppNamespaces(io, apps);

  // To this instance's sockets; to the other instances' as one message per batch (relay-emits.ts).
  const relayEmits = new RelayEmits(namespaces, fanout);
  const relays = partitions.map(
    (p) =>
      new OutboxRelay(
        store,
        relayLeases[p.index]!,
        {
          emit: (publication) => {
            relayEmits.emit(publication);
            metrics.published.inc({ kind: publication.notification.kind });
          },
          emitted: (published) => relayEmits.emitted(published),
        },
        {
          batchSize: config.RELAY_BATCH_SIZE,
          pollMs: config.RELAY_POLL_MS,
          leaseRetryMs: config.RELAY_LEASE_RETRY_MS,
          partition: p.index,
          gate: relayShare.gateOf(p.index),
        },
        logger,
        options.hooks?.relay,
      ),
  );
  const relay = relays[0]!;

  // External channels: the planner (one leader) queues deliveries, workers on every instance send them.
  const limitsRedis = redisTarget ? createRedisClient(redisTarget, { maxRetriesPerRequest: 2, lazyConnect: false }) : null;
  limitsRedis?.on('error', (err: Error) => logger.warn({ err: err.message, role: 'limits' }, 'redis connection error'));
  const drivers = createChannelDrivers(config, limitsRedis);
  const checkApiKey = createApiKeyChecker(config.NOTIFY_API_KEYS);
  // Topics, transient emits and presence (shared through Redis when there is one).
  const topics = await createTopicFeatures({ config, namespaces, redis: limitsRedis, metrics, logger, checkApiKey, notify: () => notifyDeps });
  const recipientLimits = await openRecipientLimits(config, logger);
  const worker = config.DELIVERY_WORKER
    ? new DeliveryWorker(
        store,
        drivers,
        {
          concurrency: config.DELIVERY_CONCURRENCY,
          claimBatch: config.DELIVERY_CLAIM_BATCH,
          pollMs: config.DELIVERY_POLL_MS,
          visibilityTimeoutMs: config.DELIVERY_VISIBILITY_TIMEOUT_MS,
          backoff: { baseMs: config.DELIVERY_BACKOFF_BASE_MS, capMs: config.DELIVERY_BACKOFF_CAP_MS },
        },
        metrics.deliveries,
        logger,
        { limits: recipientLimits, policies },
      )
    : null;
  const planners = partitions.map(
    (p) =>
      new DeliveryPlanner(
        store,
        policies,
        plannerLeases[p.index]!,
        {
          batchSize: config.RELAY_BATCH_SIZE,
          pollMs: config.RELAY_POLL_MS,
          leaseRetryMs: config.RELAY_LEASE_RETRY_MS,
          maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
          partition: p.index,
          gate: plannerShare.gateOf(p.index),
        },
        logger,
        () => {
          // Workers on every instance share the queue: wake them all, not only this one's.
          worker?.wake();
          fanout.announceDeliveries();
        },
      ),
  );
  const planner = planners[0]!;
  // Fires on every instance after the relay published; SSE streams listen to re-read the store.
  const streamAdvanced = new EventEmitter();
  streamAdvanced.setMaxListeners(0);
  for (const r of relays) {
    r.onBatchPublished(() => streamAdvanced.emit('advance'));
  }
  let outageHandling: OutageHandling | null = null;
  fanout.attach(io, {
    onWake: () => {
      for (const r of relays) r.wake();
      for (const p of planners) p.wake();
    },
    onDeliveries: () => worker?.wake(),
    onAdvance: () => streamAdvanced.emit('advance'),
    onPolicyChange: (change) => policies.invalidate(change),
    // Policy invalidations from other instances may be lost while the link is down.
    onLinkLost: () => {
      policies.clear();
      outageHandling?.linkLost();
    },
    onLinkRestored: () => {
      policies.clear();
      logger.info({ sockets: outageHandling?.linkRestored() }, 'sockets resynced after fan-out outage');
    },
    onRelayBatch: (emits) => relayEmits.receive(emits),
  });
  const writer = new NotificationWriter(
    store,
    (committed) => {
      // Urgent ones go out now; the relay emits them again in commit order.
      if (config.URGENT_OUT_OF_BAND) {
        for (const { tenantKey, rooms, notification } of outOfBandEmits(committed)) {
          namespaces.ofTenant(tenantKey)?.to(rooms).emit(OUT_OF_BAND_EVENT, notification);
          metrics.outOfBand.inc({ kind: notification.kind });
        }
      }
      // The relay and planner of the partition written to (a write is of one partition).
      const first = committed.notifications[0];
      const p = first ? partitionOf(first.input.tenantId, partitions.length) : 0;
      relays[p]!.wake();
      planners[p]!.wake();
      // Only the leaders act on a wake-up; with both here, the others have nothing to do.
      if (!(relays[p]!.isLeader() && planners[p]!.isLeader())) fanout.wakeOthers();
    },
    options.hooks?.writer,
    {
      partitions: partitions.length,
      onLayoutChanged: (change) => {
        logger.error({ had: change.had, now: change.now }, 'the stream layout changed under this process: writes fail until it restarts');
        options.onStreamLayoutChanged?.(change);
      },
    },
  );
  // One batcher per partition: transactions of different partitions lock different rows.
  const batchers = partitions.map(() => new WriteBatcher(writer, {
    maxItems: config.WRITE_BATCH_MAX,
    // On SQLite a transaction holds the event loop: a smaller bound (sqlite-write.ts).
    maxRows: Math.min(20 * config.WRITE_BATCH_MAX, store.dialect.writeRowBudget ?? Infinity),
    // SQLite has one connection; on MySQL a second transaction is built and sent while
    // the first holds the sequence lock (order within a batch request: see the batcher).
    maxInFlight: store.dialect.name === 'sqlite' ? 1 : 2,
  }, (size) => metrics.writeBatchSize.observe(size)));
  const notifyDeps: NotifyDeps = {
    submit: config.WRITE_BATCHING
      ? (input, group) => batchers[partitionOf(input.tenantId, partitions.length)]!.submit(input, group)
      : (input) => writer.write(input),
    checkApiKey,
    metrics,
    limits: await createNotifyLimiter(config, metrics, logger),
    fanoutPerRequest: config.FANOUT_PER_REQUEST,
    streamPartitions: partitions.length,
    emitTransient: topics.emitTransient,
    policies,
    ...(config.AUDIT_KINDS.length > 0 && { audit: createNotifyAudit(auditedKinds(config.AUDIT_KINDS), store.audit, logger) }),
  };

  const verifyToken = createTokenVerifier(config, apps);
  // Connections per address and per user, socket events, token expiry (socket and SSE).
  const connectionLimits = await createConnectionLimits(config, metrics, logger);
  outageHandling = attachSocketGateway({
    namespaces,
    topics: topics.sessions,
    store,
    verifyToken,
    metrics,
    logger,
    limits: connectionLimits,
    replayRetentionMs: config.REPLAY_RETENTION_HOURS * 3600_000,
    replayPageSize: config.REPLAY_PAGE_SIZE,
    ...(options.hooks?.replay ? { hooks: options.hooks.replay } : {}),
    devices: new DeviceLastSeen(store.devices, logger),
  });

  const stateEcho = createStateEcho(io, namespaces, redisTarget !== null);
  const replayRetentionMs = config.REPLAY_RETENTION_HOURS * 3600_000;
  const streams = streamRoute({
    store,
    verifyToken,
    metrics,
    logger,
    limits: connectionLimits,
    stateEcho,
    streamAdvanced,
    replayRetentionMs,
    replayPageSize: config.REPLAY_PAGE_SIZE,
  });

  let draining = false;
  let stopSweeper: (() => void) | undefined;
  let stopGuard: (() => void) | undefined;
  let stopShareRefresh: (() => void) | undefined;
  const metricsRoute = Router().get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const httpRoutes: AppDeps = {
    routers: [
      healthRoutes(
        [
          { name: 'store', check: () => store.ping() },
          ...(redisTarget ? [{ name: 'redis', check: () => fanout.ping() }] : []),
        ],
        () => draining,
      ),
      metricsRoute,
      notifyRoute(notifyDeps),
      notifyBatchRoute(notifyDeps, (error) => store.dialect.isUnavailable(error)),
      inboxRoutes({ store, verifyToken, metrics, stateEcho, replayRetentionMs }),
      channelRoutes({
        checkApiKey: notifyDeps.checkApiKey,
        metrics,
        channels: store.channels,
        available: new Set(drivers.keys()),
        allowPrivateTargets: config.ALLOW_PRIVATE_WEBHOOKS,
        audit: store.audit,
      }),
      recipientRoutes({ checkApiKey: notifyDeps.checkApiKey, metrics, recipients: store.recipients, audit: store.audit }),
      deviceRoutes({ checkApiKey: notifyDeps.checkApiKey, metrics, devices: store.devices, connectedDevices: connectedDevicesOf(namespaces) }),
      segmentRoutes({ checkApiKey: notifyDeps.checkApiKey, metrics, segments: store.segments, audit: store.audit }),
      preferenceRoutes({
        checkApiKey: notifyDeps.checkApiKey,
        verifyToken,
        metrics,
        preferences: store.preferences,
        audit: store.audit,
        onPolicyChange: policyChanged,
      }),
      deliveryRoutes({ checkApiKey: notifyDeps.checkApiKey, metrics, deliveries: store.deliveries, onRetry: () => worker?.wake(), audit: store.audit }),
      auditRoutes({ checkApiKey: notifyDeps.checkApiKey, metrics, audit: store.audit }),
      pushSubscriptionRoutes({
        verifyToken,
        metrics,
        pushSubscriptions: store.pushSubscriptions,
        vapidPublicKey: drivers.has('webpush') ? (config.VAPID_PUBLIC_KEY ?? null) : null,
      }),
      streams.router,
      topics.router,
      sdkRoutes({ demoPage: config.DEMO_PAGE }),
      openApiRoute({ demoPage: config.DEMO_PAGE }),
    ],
    metrics,
    logger,
    isStoreUnavailable: (error) => store.dialect.isUnavailable(error),
    trustProxy: config.TRUST_PROXY,
    isDraining: () => draining,
    corsOrigins: config.CORS_ORIGINS,
  };
  const app = options.host ? null : createApp(httpRoutes);
  let started = false;
  /** The background work; the HTTP side serves from the start. */
  function start(): void {
    if (started || draining) return;
    started = true;
    // Every instance subscribes to the fan-out: its subscriber count is the instance count.
    if (partitions.length > 1) {
      stopShareRefresh ??= refreshLeaseShares([relayShare, plannerShare], () => io.of('/').adapter.serverCount(), config.RELAY_LEASE_RETRY_MS);
    }
    for (const r of relays) r.start();
    topics.start();
    for (const p of planners) p.start();
    worker?.start();
    stopGuard ??= startSlowConsumerGuard(
      io,
      { maxBufferedBytes: config.SOCKET_MAX_BUFFERED_BYTES, maxQueuedPackets: 1000, intervalMs: 1000 },
      () => metrics.slowConsumerDrops.inc(),
      logger,
    );
    stopSweeper ??= startRetentionSweeper(
      store,
      lease,
      {
        inboxRetentionMs: config.INBOX_RETENTION_DAYS * 86_400_000,
        replayRetentionMs: config.REPLAY_RETENTION_HOURS * 3_600_000,
        auditRetentionMs: config.AUDIT_RETENTION_DAYS * 86_400_000,
      },
      logger,
    );
  }

  return {
    config,
    store,
    io,
    relay,
    lease,
    planner,
    relays,
    planners,
    streamLeases: { realtime: relayLeases, deliveries: plannerLeases },
    worker,
    metrics,
    writer,
    httpServer,
    streamAdvanced,
    policies,
    httpRoutes,
    async listen(port = config.PORT, host = config.HOST) {
      if (options.host) throw new Error('an embedded gateway does not listen: the host listens on its own server');
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve());
      });
      start();
      return (httpServer.address() as AddressInfo).port;
    },
    start,
    /** Stop accepting, finish the relay batch, release the lease, close sockets and stores. */
    async close() {
      draining = true;
      stopSweeper?.();
      stopGuard?.();
      stopShareRefresh?.();
      await Promise.all(relays.map((r) => r.stop()));
      await Promise.all(planners.map((p) => p.stop()));
      await worker?.stop();
      streams.closeAll();
      await sockets.close();
      await fanout.close();
      await topics.close();
      await limitsRedis?.quit().catch(() => limitsRedis.disconnect());
      await notifyDeps.limits?.close();
      await recipientLimits.close();
      await connectionLimits.close();
      await store.close();
    },
  };
}

