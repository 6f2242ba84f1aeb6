/**
 * Several instances joined by a Redis Cluster (REDIS_CLUSTER_NODES, Redis 7): Socket.IO's
 * sharded adapter over ioredis `Cluster`, one channel per room spread over the shards
 * (tenant-sharded-adapter.ts), and the instance-to-instance events (relay wake-up,
 * stream advance, deliveries, policy changes, resync requests) on one control channel
 * of their own, published with SPUBLISH so that a failed publish is seen.
 *
 * Failover: a shard whose master dies loses its subscriptions until the replica took
 * over and ioredis subscribed again (cluster-subscriptions.ts). That is a link loss like
 * a single Redis going down: sockets hold live broadcasts, and once every subscription
 * is verified back they replay from the store. What this instance failed to publish
 * meanwhile may have missed other instances' sockets: once a publish fails, a resync
 * request goes out to the others as soon as one can be published.
 *
 * Socket.IO's own connection-state recovery is not used (it does not work with the
 * Redis adapters); replay from the store is the recovery.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import type { Server } from 'socket.io';
import type { Logger } from '../logger.js';
import { parsePolicyChange, type PolicyChange } from '../policy/policy-change.js';
import { watchClusterSubscriptions } from '../redis/cluster-subscriptions.js';
import { createRedisClient, type RedisTarget } from '../redis/redis-client.js';
import { ADVANCE_EVENT, DELIVERIES_EVENT, POLICY_EVENT, PUBLISHED_TIMEOUT_MS, RESYNC_EVENT, WAKE_EVENT, type Fanout, type FanoutListeners } from './fanout.js';
import { coalesced, debounced, settledWithin } from './event-timing.js';
import { createTenantShardedAdapter } from './tenant-sharded-adapter.js';

interface ControlMessage {
  from: string;
  event: string;
  change?: PolicyChange;
}

/** A failover is seen by every connection of every instance: resync once. */
const RESYNC_DEBOUNCE_MS = 300;
/** A resync request goes out once publishing has not failed for this long. */
const RESYNC_QUIET_MS = 500;

export function createRedisClusterFanout(target: Extract<RedisTarget, { kind: 'cluster' }>, keyPrefix: string, logger: Logger): Fanout {
  // As with one Redis: nothing queued for publishing (a late publish would overtake a
  // resync), auto-pipelined (a relay batch leaves in one write per shard).
  const pub = createRedisClient(target, { enableOfflineQueue: false, enableAutoPipelining: true, maxRetriesPerRequest: 3 }) as Cluster;
  // Subscriptions wait for the cluster however long it takes (the adapter never retries one).
  const sub = createRedisClient(target, { shardedSubscribers: true, enableOfflineQueue: true, maxRetriesPerRequest: null }) as Cluster;
  for (const [role, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis cluster connection error'));
    client.on('node error', (err: Error, node: string) => logger.warn({ err: err.message, role, node }, 'redis cluster node error'));
  }

  const instance = randomUUID();
  const controlChannel = `${keyPrefix}:sio:control`;
  let listeners: FanoutListeners | null = null;
  let resyncTimer: NodeJS.Timeout | null = null;

  const publish = (message: Omit<ControlMessage, 'from'>) => pub.spublish(controlChannel, JSON.stringify({ from: instance, ...message }));
  // Every publish goes through here, the adapter's too (it drops failures into its debug log).
  const spublish = pub.spublish.bind(pub) as (...args: unknown[]) => Promise<number>;
  // Publishes not answered yet: the relay waits for them before moving its cursor (`published`).
  const unanswered = new Set<Promise<number>>();
  (pub as unknown as { spublish: typeof spublish }).spublish = (...args) => {
    const result = spublish(...args);
    result.catch(owePublishedResync);
    unanswered.add(result);
    const answered = () => void unanswered.delete(result);
    result.then(answered, answered);
    return result;
  };
  const ignore = () => undefined; // a failed publish is handled above
  const emitToOthers = coalesced((event: string) => void publish({ event }).catch(ignore));

  /**
   * Others may have missed what we published: once publishing has not failed for
   * RESYNC_QUIET_MS, ask them to resync. One request (and one log line) per burst of failures.
   */
  function owePublishedResync(err: Error) {
    if (resyncTimer) clearTimeout(resyncTimer);
    else logger.warn({ err: err.message }, 'redis cluster publish failed; the other instances will be asked to resync');
    resyncTimer = setTimeout(() => {
      resyncTimer = null;
      void publish({ event: RESYNC_EVENT }).catch(ignore);
    }, RESYNC_QUIET_MS);
  }

  const watch = watchClusterSubscriptions(sub, logger, {
    lost: () => listeners?.onLinkLost(),
    // What we failed to publish meanwhile is covered by owePublishedResync (every failure is seen).
    restored: () => linkRestored(),
  });
  // Only while every subscription is in effect can replay + release of held broadcasts be complete.
  const linkRestored = debounced(() => watch.listening && listeners?.onLinkRestored(), RESYNC_DEBOUNCE_MS);

  const onControl = (channel: string, raw: string) => {
    if (channel !== controlChannel || !listeners) return;
    let message: ControlMessage;
    try {
      message = JSON.parse(raw) as ControlMessage;
    } catch {
      return logger.warn('ignored a malformed control message from another instance');
    }
    if (message.from === instance) return;
    if (message.event === WAKE_EVENT) listeners.onWake();
    else if (message.event === ADVANCE_EVENT) listeners.onAdvance();
    else if (message.event === DELIVERIES_EVENT) listeners.onDeliveries();
    else if (message.event === RESYNC_EVENT) linkRestored();
    else if (message.event === POLICY_EVENT) {
      const change = parsePolicyChange(message.change);
      if (change) listeners.onPolicyChange(change);
      else logger.warn('ignored a malformed policy change from another instance');
    }
  };
  sub.on('smessage', onControl);
  void sub.ssubscribe(controlChannel).catch(() => undefined); // retried by the watch

  return {
    name: 'redis-cluster',
    adapter: createTenantShardedAdapter(pub, sub, `${keyPrefix}:sio`),
    attach(_server: Server, attached) {
      listeners = attached;
    },
    wakeOthers: () => emitToOthers(WAKE_EVENT),
    announceAdvance: () => emitToOthers(ADVANCE_EVENT),
    announceDeliveries: () => emitToOthers(DELIVERIES_EVENT),
    // Never coalesced: each names what to drop. A lost one: the resync request that follows clears the others' caches.
    announcePolicyChange: (change) => void publish({ event: POLICY_EVENT, change }).catch(ignore),
    published() {
      return settledWithin(Promise.allSettled([...unanswered]), PUBLISHED_TIMEOUT_MS);
    },
    async ping() {
      if (pub.status !== 'ready' || sub.status !== 'ready') throw new Error(`redis cluster ${pub.status}/${sub.status}`);
      if (!watch.listening) throw new Error('redis cluster subscriptions recovering');
      await pub.ping();
    },
    async close() {
      listeners = null;
      watch.stop();
      linkRestored.cancel();
      if (resyncTimer) clearTimeout(resyncTimer);
      sub.off('smessage', onControl);
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}
