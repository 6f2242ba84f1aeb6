/**
 * Whether a Redis Cluster subscriber (ioredis `Cluster` with `shardedSubscribers: true`)
 * hears every channel it subscribed, and when it stopped or started to again.
 *
 * ioredis keeps one subscriber connection per shard master that holds our channels.
 * When a master dies its connection ends; after the replica took over, the next slot
 * refresh connects to the new master and sends SSUBSCRIBE again. Meanwhile messages on
 * that shard are lost, so:
 * - `lost` fires on the first sign: a node or subscriber leaving, the cluster closing,
 *   an SSUBSCRIBE that failed (the channel is kept and subscribed again later);
 * - `restored` fires once, every VERIFY_EVERY_MS, a check finds every slot that holds
 *   our channels served by a connected subscriber, failed SSUBSCRIBEs redone, and a PING
 *   answered on every such connection (it is queued after the re-sent SSUBSCRIBEs, so
 *   its reply means they are in effect).
 * A spurious `lost` (a replica leaving) costs a resync, never a message.
 *
 * The per-shard subscribers are internal to ioredis 5.x (ClusterSubscriberGroup): they
 * are read here, and a version without them fails at start, not silently.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../logger.js';

const VERIFY_EVERY_MS = 200;

interface ShardSubscriber {
  subscriberStatus: string;
  getInstance(): Redis | null;
}

interface SubscriberGroup {
  shardedSubscribers: Map<string, ShardSubscriber>;
  clusterSlots: string[][];
  channels: Map<number, string[]>;
  isResetting: boolean;
}

export interface ClusterSubscriptionWatch {
  /** True from the first verified state until a loss, and again once verified. */
  readonly listening: boolean;
  stop(): void;
}

export function watchClusterSubscriptions(
  sub: Cluster,
  logger: Logger,
  on: { lost: () => void; restored: () => void },
): ClusterSubscriptionWatch {
  const group = subscriberGroupOf(sub);
  /** Channels whose SSUBSCRIBE failed: subscribed again before `restored`. */
  const retry = new Set<string>();
  let listening = false;
  let everListened = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let verifying = false;

  const lose = (why: string) => {
    if (stopped) return;
    scheduleVerify();
    if (!listening) return;
    listening = false;
    logger.warn({ role: 'sub', why }, 'redis cluster subscriptions interrupted; holding live broadcasts until they are back');
    on.lost();
  };

  function scheduleVerify() {
    if (timer || stopped) return;
    timer = setInterval(() => void verify(), VERIFY_EVERY_MS);
  }

  async function verify() {
    if (verifying || stopped) return;
    verifying = true;
    try {
      if (!(await allListening())) return;
      if (timer) clearInterval(timer);
      timer = null;
      if (listening || stopped) return;
      listening = true;
      if (everListened) {
        logger.info({ role: 'sub' }, 'redis cluster subscriptions restored; resyncing sockets');
        on.restored();
      }
      everListened = true;
    } catch {
      // not yet: the next tick checks again
    } finally {
      verifying = false;
    }
  }

  async function allListening(): Promise<boolean> {
    if (sub.status !== 'ready' || group.isResetting) return false;
    for (const channel of [...retry]) {
      await sub.ssubscribe(channel);
      retry.delete(channel);
    }
    const connections = new Set<Redis>();
    for (const [slot, channels] of group.channels) {
      if (channels.length === 0) continue;
      const nodeKey = group.clusterSlots[slot]?.[0];
      const subscriber = nodeKey === undefined ? undefined : group.shardedSubscribers.get(nodeKey);
      const connection = subscriber?.getInstance();
      if (!subscriber || subscriber.subscriberStatus !== 'connected' || connection?.status !== 'ready') return false;
      connections.add(connection);
    }
    await Promise.all([...connections].map((connection) => connection.ping()));
    return true;
  }

  // The adapter fires SSUBSCRIBE and ignores the promise: observe every one.
  const ssubscribe = sub.ssubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
  (sub as unknown as { ssubscribe: typeof ssubscribe }).ssubscribe = (...channels) => {
    const result = ssubscribe(...channels);
    result.catch((err: Error) => {
      for (const channel of channels) retry.add(channel);
      lose(`SSUBSCRIBE failed: ${err.message}`);
    });
    return result;
  };
  const sunsubscribe = sub.sunsubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
  (sub as unknown as { sunsubscribe: typeof sunsubscribe }).sunsubscribe = (...channels) => {
    for (const channel of channels) retry.delete(channel);
    const result = sunsubscribe(...channels);
    // A channel left on a dead shard is gone with it; one left on a live one only costs traffic.
    result.catch((err: Error) => logger.debug({ err: err.message }, 'redis cluster SUNSUBSCRIBE failed'));
    return result;
  };

  sub.on('-node', () => lose('a node left'));
  sub.on('-subscriber', () => lose('a shard subscriber left'));
  sub.on('close', () => lose('cluster connection closed'));
  // Emitted while the reset still runs: check right after it.
  sub.on('subscribersReady', () => setImmediate(() => void verify()));
  sub.on('ready', () => void verify());
  scheduleVerify();

  return {
    get listening() {
      return listening;
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

function subscriberGroupOf(sub: Cluster): SubscriberGroup {
  const group = (sub as unknown as { shardedSubscribers?: Partial<SubscriberGroup> }).shardedSubscribers;
  if (!group || !(group.shardedSubscribers instanceof Map) || !(group.channels instanceof Map) || !Array.isArray(group.clusterSlots)) {
    throw new Error('ioredis internals changed (Cluster sharded subscribers): subscription loss cannot be watched');
  }
  return group as SubscriberGroup;
}
