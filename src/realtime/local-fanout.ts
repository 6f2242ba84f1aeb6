import { Adapter } from 'socket.io-adapter';
import type { Fanout } from './fanout.js';

/** One process: the in-memory adapter; the relay lives here, so there is no one to wake. */
export function createLocalFanout(): Fanout {
  return {
    name: 'local',
    adapter: (nsp) => new Adapter(nsp),
    attach() {},
    wakeOthers() {},
    announceAdvance() {},
    announceDeliveries() {},
    announcePolicyChange() {},
    async ping() {},
    async close() {},
  };
}
