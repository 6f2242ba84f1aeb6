/**
 * A free loopback port. Its own module: private-redis.mjs needs it before gateways.mjs may
 * load (gateways.mjs reads BENCH_REDIS_URL when it loads, and the private Redis sets it).
 */
import { createServer } from 'node:net';

/** Asks the kernel for a free port; the tiny race until the server binds it is accepted. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
