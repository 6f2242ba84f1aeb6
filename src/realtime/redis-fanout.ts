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
import { WAKE_EVENT, type Fanout } from './fanout.js';

export function createRedisFanout(url: string, keyPrefix: string, logger: Logger): Fanout {
  const pub = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const sub = pub.duplicate();
  for (const [role, client] of [['pub', pub], ['sub', sub]] as const) {
    client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis connection error'));
  }
  observePublishFailures(pub, logger);

  let io: Server | null = null;
  let onWakeListener: (() => void) | null = null;
  let wakePending = false;
  return {
    name: 'redis',
    adapter: createAdapter(pub, sub, { key: `${keyPrefix}:sio` }),
    attach(server, onWake) {
      io = server;
      onWakeListener = onWake;
      server.on(WAKE_EVENT, onWake);
    },
    wakeOthers() {
      // Many commits in one tick → one PUBLISH.
      if (wakePending || !io) return;
      wakePending = true;
      setImmediate(() => {
        wakePending = false;
        io?.serverSideEmit(WAKE_EVENT, Date.now());
      });
    },
    async ping() {
      if (pub.status !== 'ready' || sub.status !== 'ready') throw new Error(`redis ${pub.status}/${sub.status}`);
      await pub.ping();
    },
    async close() {
      if (onWakeListener) io?.off(WAKE_EVENT, onWakeListener);
      await Promise.allSettled([pub.quit(), sub.quit()]);
      pub.disconnect();
      sub.disconnect();
    },
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
