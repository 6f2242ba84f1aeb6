/**
 * What holds the port while the gateway waits for its dependencies (dependencies.ts),
 * so that orchestrators and nginx see a live process that is not ready, not a refused
 * connection: `GET /healthz` 200, `GET /readyz` 503 in the gateway's shape plus what is
 * awaited, anything else 503 NOT_READY with `Retry-After`. WebSocket upgrades are
 * closed; clients retry. Closed just before the gateway listens on the same port.
 */
import { createServer, type Server } from 'node:http';
import { errorBody, RETRY_AFTER_SECONDS } from '../http/errors.js';
import type { Dependency } from './dependencies.js';

export interface StartingServer {
  /** The dependencies still awaited (shown by /readyz and in the 503s). */
  waitingFor(dependencies: readonly Dependency[]): void;
  close(): Promise<void>;
}

export async function startStartingServer(port: number, host: string, dependencies: readonly Dependency[]): Promise<StartingServer> {
  let waiting: readonly Dependency[] = dependencies;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      const checks = Object.fromEntries(dependencies.map((d) => [d.check, waiting.includes(d) ? 'down' : 'up']));
      return send(503, { status: 'starting', checks, waitingFor: waiting.map((d) => d.variable) });
    }
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    const names = waiting.map((d) => d.variable).join(', ') || 'start-up';
    send(503, errorBody('NOT_READY', `the gateway is starting: waiting for ${names}`));
  });
  server.on('upgrade', (_req, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    waitingFor(now) {
      waiting = now;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
