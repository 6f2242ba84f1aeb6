/**
 * Several instances joined by Redis: @socket.io/redis-adapter on ioredis. Channel names
 * start with REDIS_KEY_PREFIX so gateways sharing a Redis stay apart.
 *
 * The adapter fires PUBLISH and ignores the promise; while Redis is down those reject,
 * so our publish wrapper observes every rejection (an unhandled one would kill the
 * process). What a Redis outage drops is recovered by replay, not by Redis: when our
 * subscriber is back (and resubscribed) we resync our own sockets; when our publisher
 * is back we also ask the other instances to resync theirs, since broadcasts we sent
 * meanwhile may not have reached them.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import type { Logger } from '../logger.js';
import { parsePolicyChange } from '../policy/policy-change.js';
import {
  ADVANCE_EVENT,
  DELIVERIES_EVENT,
  POLICY_EVENT,
  PUBLISHED_TIMEOUT_MS,
  RELAY_BATCH_EVENT,
  RESYNC_EVENT,
  WAKE_EVENT,
  parseRelayBatch,
  type Fanout,
  type FanoutListeners,
} from './fanout.js';
import { coalesced, debounced, settledWithin } from './event-timing.js';

export function createRedisFanout(url: string, keyPrefix: string, logger: Logger): Fanout {
  // No offline queue for publishing: a PUBLISH held back during an outage would land
  // after the resync started and move sockets past what they missed.
  // Auto-pipelining: the relay publishes a whole batch in one tick, which then leaves in
  // one socket write instead of one write per notification.
  const pub = new Redis(url, { maxRetriesPerRequest: 3, enableOfflineQueue: false, enableAutoPipelining: true });
  // The adapter subscribes once, at start, and never handles a failed SUBSCRIBE: with a
  // retry limit, a Redis not up yet failed it and the rejection ended the process. So the
  // subscriber's commands wait for the connection however long it takes (ioredis then
  // re-subscribes by itself after every reconnect).
  const sub = pub.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false, maxRetriesPerRequest: null });
  for (const [role, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis connection error'));
  }
  observePublishFailures(pub, logger);

  let io: Server | null = null;
  let listeners: FanoutListeners | null = null;
  const emitToOthers = coalesced((event: string) => io?.serverSideEmit(event, Date.now()));
  // A policy change is never coalesced: each names what to drop.
  const onPolicyEvent = (raw: unknown) => {
    const change = parsePolicyChange(raw);
    if (change) listeners?.onPolicyChange(change);
    else logger.warn('ignored a malformed policy change from another instance');
  };
  const onRelayBatchEvent = (raw: unknown) => {
    const emits = parseRelayBatch(raw);
    if (emits) {
      listeners?.onRelayBatch(emits);
      // The batch's rows are committed: it stands for the relay's advance (gateway.ts).
      listeners?.onAdvance();
    } else logger.warn('ignored a malformed relay batch from another instance');
  };
  let listening = true;
  // Only once our subscriber is back can replay + release of held broadcasts be complete.
  const linkRestored = debounced(() => listening && listeners?.onLinkRestored(), RESYNC_DEBOUNCE_MS);
  onConnectionChange(sub, logger, 'sub', {
    lost() {
      listening = false;
      listeners?.onLinkLost();
    },
    async restored() {
      await sub.ping(); // replies after the automatic re-subscribe: we are listening again
      listening = true;
      linkRestored();
    },
  });
  onConnectionChange(pub, logger, 'pub', {
    lost() {},
    async restored() {
      emitToOthers(RESYNC_EVENT);
      linkRestored();
    },
  });
  return {
    name: 'redis',
    adapter: createAdapter(pub, sub, { key: `${keyPrefix}:sio` }),
    attach(server, attached) {
      io = server;
      listeners = attached;
      server.on(WAKE_EVENT, attached.onWake);
      server.on(ADVANCE_EVENT, attached.onAdvance);
      server.on(DELIVERIES_EVENT, attached.onDeliveries);
      server.on(POLICY_EVENT, onPolicyEvent);
      server.on(RESYNC_EVENT, linkRestored);
      server.on(RELAY_BATCH_EVENT, onRelayBatchEvent);
    },
    wakeOthers: () => emitToOthers(WAKE_EVENT),
    announceAdvance: () => emitToOthers(ADVANCE_EVENT),
    announceDeliveries: () => emitToOthers(DELIVERIES_EVENT),
    announcePolicyChange: (change) => io?.serverSideEmit(POLICY_EVENT, change),
    // Lost like any PUBLISH while Redis is down: the outage resync replays what was.
    relayBatch(emits) {
      for (let i = 0; i < emits.length; i += RELAY_EMITS_PER_MESSAGE) {
        io?.serverSideEmit(RELAY_BATCH_EVENT, emits.slice(i, i + RELAY_EMITS_PER_MESSAGE));
      }
    },
    // A PING queued after the publishes on the same connection is answered after them.
    published() {
      return settledWithin(pub.ping(), PUBLISHED_TIMEOUT_MS);
    },
    async ping() {
      if (pub.status !== 'ready' || sub.status !== 'ready') throw new Error(`redis ${pub.status}/${sub.status}`);
      await pub.ping();
    },
    async close() {
      if (listeners) {
        io?.off(WAKE_EVENT, listeners.onWake);
        io?.off(ADVANCE_EVENT, listeners.onAdvance);
        io?.off(DELIVERIES_EVENT, listeners.onDeliveries);
        io?.off(POLICY_EVENT, onPolicyEvent);
        io?.off(RESYNC_EVENT, linkRestored);
        io?.off(RELAY_BATCH_EVENT, onRelayBatchEvent);
      }
      linkRestored.cancel();
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/**
 * A relay batch (up to RELAY_BATCH_SIZE notifications of up to ~12 KB) goes as messages of
 * at most this many emits, far below Redis's output buffer limits for subscribers.
 */
const RELAY_EMITS_PER_MESSAGE = 100;

/** A Redis restart is seen by both connections of every instance: resync once. */
const RESYNC_DEBOUNCE_MS = 300;

/** `lost` when a ready connection closes; `restored` on the 'ready' that follows. */
function onConnectionChange(
  client: Redis,
  logger: Logger,
  role: string,
  on: { lost: () => void; restored: () => Promise<void> },
): void {
  let lost = false;
  let wasReady = false;
  client.on('close', () => {
    if (lost || !wasReady) return;
    lost = true;
    logger.warn({ role }, 'redis connection lost; holding live broadcasts until it is back');
    on.lost();
  });
  client.on('ready', () => {
    wasReady = true;
    if (!lost) return;
    lost = false;
    logger.info({ role }, 'redis connection restored; resyncing sockets');
    on.restored().catch((err: Error) => logger.warn({ err: err.message, role }, 'redis resync failed'));
  });
}

function observePublishFailures(client: Redis, logger: Logger): void {
  const publish = client.publish.bind(client) as (...args: unknown[]) => Promise<number>;
  (client as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args) => {
    const result = publish(...args);
    result.catch((err: Error) => logger.warn({ err: err.message }, 'redis publish failed'));
    return result;
  };
}
