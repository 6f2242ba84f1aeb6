/**
 * Several instances joined by Redis: @socket.io/redis-adapter on ioredis. Channel names
 * start with REDIS_KEY_PREFIX so gateways sharing a Redis stay apart.
 *
 * The adapter fires PUBLISH and ignores the promise; while Redis is down those reject,
 * so our publish wrapper observes every rejection (an unhandled one would kill the
 * process). What a Redis outage drops is recovered by replay, not by Redis.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import type { Logger } from '../logger.js';
import { ADVANCE_EVENT, WAKE_EVENT, type Fanout, type FanoutListeners } from './fanout.js';

export function createRedisFanout(url: string, keyPrefix: string, logger: Logger): Fanout {
  const pub = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const sub = pub.duplicate();
  for (const [role, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis connection error'));
  }
  observePublishFailures(pub, logger);

  let io: Server | null = null;
  let listeners: FanoutListeners | null = null;
  const emitToOthers = coalesced((event: string) => io?.serverSideEmit(event, Date.now()));
  return {
    name: 'redis',
    adapter: createAdapter(pub, sub, { key: `${keyPrefix}:sio` }),
    attach(server, attached) {
      io = server;
      listeners = attached;
      server.on(WAKE_EVENT, attached.onWake);
      server.on(ADVANCE_EVENT, attached.onAdvance);
    },
    wakeOthers: () => emitToOthers(WAKE_EVENT),
    announceAdvance: () => emitToOthers(ADVANCE_EVENT),
    async ping() {
      if (pub.status !== 'ready' || sub.status !== 'ready') throw new Error(`redis ${pub.status}/${sub.status}`);
      await pub.ping();
    },
    async close() {
      if (listeners) {
        io?.off(WAKE_EVENT, listeners.onWake);
        io?.off(ADVANCE_EVENT, listeners.onAdvance);
      }
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/** Many calls in one tick → one PUBLISH per event name. */
function coalesced(send: (event: string) => void): (event: string) => void {
  const pending = new Set<string>();
  return (event) => {
    if (pending.has(event)) return;
    pending.add(event);
    setImmediate(() => {
      pending.delete(event);
      send(event);
    });
  };
}

function observePublishFailures(client: Redis, logger: Logger): void {
  const publish = client.publish.bind(client) as (...args: unknown[]) => Promise<number>;
  (client as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args) => {
    const result = publish(...args);
    result.catch((err: Error) => logger.warn({ err: err.message }, 'redis publish failed'));
    return result;
  };
}
