/**
 * Prometheus metrics, one registry per gateway instance (tests start several in one
 * process). Names are the contract the Grafana dashboard and alert rules rely on.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createDeliveryMetrics, type DeliveryQueueStats } from './delivery-metrics.js';
import { instanceInfo } from './instance-info.js';
import { createKindLabel, withKindLabel, type KindLabelOptions } from './kind-label.js';

export interface OutboxState {
  backlog: number;
  /** Age of the oldest unpublished row in seconds; 0 when empty. */
  lagSeconds: number;
}

export interface MetricSources {
  defaultMetrics: boolean;
  /** How many stream partitions' relays this instance leads (0 or 1 without STREAM_PARTITIONS). */
  relayPartitionsLed: () => number;
  /** STREAM_PARTITIONS in effect. */
  streamPartitions: number;
  /** Read at scrape time; errors leave the last value (the store may be down). */
  outboxState: () => Promise<OutboxState>;
  /** Read at scrape time, like outboxState. */
  deliveryQueue: () => Promise<DeliveryQueueStats>;
  /** METRIC_KINDS / METRIC_KIND_LIMIT: how `kind` labels are bounded (kind-label.ts). */
  kindLabels?: KindLabelOptions;
}

export function createMetrics(options: MetricSources) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const outboxState = sharedPerScrape(options.outboxState);
  /** Bounded `kind` label values, shared by every counter labelled by kind. */
  const kindLabel = createKindLabel(options.kindLabels);
  /** A gauge read from the outbox at scrape time; a store error keeps the last value. */
  const outboxGauge = (name: string, help: string, pick: (state: OutboxState) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const state = await outboxState();
        if (state) this.set(pick(state));
      },
    });
  return {
    registry,
    kindLabel,
    deliveries: createDeliveryMetrics(registers, sharedPerScrape(options.deliveryQueue)),
    instanceInfo: instanceInfo(registers),
    connectedSockets: new Gauge({ name: 'notify_connected_sockets', help: 'Socket.IO connections open on this instance right now', registers }),
    connectionsOpened: new Counter({
      name: 'notify_connections_opened_total',
      help:
        'Socket.IO connections accepted. reconnect="true": the client lost an open connection and restored it (auth.reconnect, sent by the SDK); a page load is never one. resumed="true": the handshake carried lastAckId (a reconnect or a reload)',
      labelNames: ['reconnect', 'resumed'] as const,
      registers,
    }),
    connectionsClosed: new Counter({
      name: 'notify_connections_closed_total',
      help: 'Socket.IO connections closed, by Socket.IO disconnect reason (transport close, ping timeout, server namespace disconnect, ...)',
      labelNames: ['reason'] as const,
      registers,
    }),
    slowConsumerDrops: new Counter({
      name: 'notify_slow_consumer_drops_total',
      help: 'Connections dropped because their unsent backlog passed SOCKET_MAX_BUFFERED_BYTES',
      registers,
    }),
    authFailures: new Counter({
      name: 'notify_auth_failures_total',
      help: 'Rejected user tokens and API keys by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    ingested: withKindLabel(kindLabel, new Counter({
      name: 'notify_notifications_ingested_total',
      help: 'Notifications committed by POST',
      labelNames: ['kind'] as const,
      registers,
    })),
    writeBatchSize: new Histogram({
      name: 'notify_write_batch_size',
      help: 'Notifications per group-commit transaction',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers,
    }),
    rateLimited: new Counter({
      name: 'notify_rate_limited_total',
      help:
        'Refused by a limit, by the limit that refused (notify_requests, notify_recipients, fanout, fanout_per_request: per notification; connect_per_ip, sockets_per_user, streams_per_user: per connection; socket_events: per dropped event; socket_event_flood: per socket disconnected)',
      labelNames: ['limit'] as const,
      registers,
    }),
    sessionTokens: new Counter({
      name: 'notify_session_tokens_total',
      help: 'Tokens of open sockets and SSE streams: refreshed (auth:refresh accepted), refused (auth:refresh refused), expired (closed at exp)',
      labelNames: ['channel', 'event'] as const,
      registers,
    }),
    dedupeHits: new Counter({ name: 'notify_dedupe_hits_total', help: 'Repeated dedupe keys answered with the first id', registers }),
    policyCacheLookups: new Counter({
      name: 'notify_policy_cache_lookups_total',
      help: 'Preference and kind-default lookups of the policy cache, per key: hit (cached) or miss (read from the store)',
      labelNames: ['result'] as const,
      registers,
    }),
    published: withKindLabel(kindLabel, new Counter({
      name: 'notify_notifications_published_total',
      help: 'Notifications emitted by the relay',
      labelNames: ['kind'] as const,
      registers,
    })),
    outOfBand: withKindLabel(kindLabel, new Counter({
      name: 'notify_notifications_out_of_band_total',
      help: 'Urgent notifications emitted at commit, ahead of the relay (which emits them again in order)',
      labelNames: ['kind'] as const,
      registers,
    })),
    delivered: withKindLabel(kindLabel, new Counter({
      name: 'notify_notifications_delivered_total',
      help: 'Messages sent: notifications written to sockets (live and replayed), by kind',
      labelNames: ['kind'] as const,
      registers,
    })),
    acked: new Counter({ name: 'notify_notifications_acked_total', help: 'Inbox rows acknowledged by clients', registers }),
    replayed: new Counter({ name: 'notify_replayed_total', help: 'Notifications sent by reconnect replay', registers }),
    replayDuration: new Histogram({
      name: 'notify_replay_duration_seconds',
      help: 'Time from handshake to notify:synced',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    relayLeader: new Gauge({
      name: 'notify_relay_leader',
      help: 'Stream partitions whose relay lease this instance holds (1 when it holds the one relay lease)',
      registers,
      collect() {
        this.set(options.relayPartitionsLed());
      },
    }),
    streamPartitions: new Gauge({
      name: 'notify_stream_partitions',
      help: 'Partitions of the stream (STREAM_PARTITIONS): relay leases to be held across instances',
      registers,
      collect() {
        this.set(options.streamPartitions);
      },
    }),
    outboxBacklog: outboxGauge('notify_outbox_backlog', 'Committed notifications not yet published by the relay', (s) => s.backlog),
    outboxLag: outboxGauge(
      'notify_outbox_lag_seconds',
      'Age of the oldest unpublished outbox row (0 when the outbox is empty)',
      (s) => s.lagSeconds,
    ),
    httpDuration: new Histogram({
      name: 'notify_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Both outbox gauges are collected concurrently in one scrape: they share one store read. */
function sharedPerScrape<T>(read: () => Promise<T>): () => Promise<T | null> {
  let inFlight: Promise<T | null> | null = null;
  return () => {
    inFlight ??= read()
      .catch(() => null)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}
