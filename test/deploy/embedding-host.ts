/**
 * A host program for the embedding tests: an Express 5 app with routes of its own (some
 * under /api, registered after the gateway), its own JSON parsers, its own 404 and error
 * shape, served by its own HTTP server on port 0.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { attachNotifyGateway, type AttachNotifyGatewayOptions, type AttachedNotifyGateway } from '../../src/index.js';
import type { TestDatabase } from '../support/drivers.js';
import { ACME_KEY, API_KEY, JWT_SECRET } from '../support/harness.js';

export interface Host {
  app: Express;
  httpServer: HttpServer;
  gateway: AttachedNotifyGateway;
  url: string;
  close(): Promise<void>;
}

/** Host routes answer with this, so a test can tell them from the gateway's. */
export const HOST_NOT_FOUND = 'host: no such page';

export function gatewaySettings(db: TestDatabase): Omit<AttachNotifyGatewayOptions, 'app' | 'httpServer'> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: db.redisUrl,
    REDIS_KEY_PREFIX: db.redisPrefix,
    JWT_SECRET,
    NOTIFY_API_KEYS: [API_KEY, `${ACME_KEY}:acme`],
    LOG_LEVEL: 'silent',
    RELAY_POLL_MS: 200,
    RELAY_LEASE_RETRY_MS: 100,
  };
}

/** The host's app up to the point where it attaches the gateway. */
export function hostApp(): Express {
  const app = express();
  app.get('/host/hello', (_req, res) => {
    res.json({ hello: 'from the host' });
  });
  // The host's parser, with a small limit, on its own paths only.
  app.post('/host/echo', express.json({ limit: '1kb' }), (req, res) => {
    res.status(201).json({ echoed: req.body as unknown });
  });
  app.get('/host/fail', () => {
    throw new Error('host route failed');
  });
  return app;
}

/**
 * What the host registers after attaching: an app-wide parser with a small limit (the
 * gateway's requests never reach it), a route under /api, its 404 and error handler.
 */
export function finishHostApp(app: Express): void {
  app.use(express.json({ limit: '1kb' }));
  app.post('/api/host-users', (req, res) => {
    res.status(201).json({ created: req.body as unknown });
  });
  app.get('/api/host-users/me', (_req, res) => {
    res.json({ user: 'host user' });
  });
  app.use((_req, res) => {
    res.status(404).type('text/plain').send(HOST_NOT_FOUND);
  });
  const hostErrors: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.status(500).json({ hostError: error.message });
  };
  app.use(hostErrors);
}

export async function startHost(
  db: TestDatabase,
  extra: Partial<AttachNotifyGatewayOptions> = {},
  beforeAttach: (httpServer: HttpServer, app: Express) => void = () => undefined,
): Promise<Host> {
  const app = hostApp();
  const httpServer = createServer(app);
  beforeAttach(httpServer, app);
  const gateway = await attachNotifyGateway({ app, httpServer, ...gatewaySettings(db), ...extra });
  finishHostApp(app);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  let closed = false;
  return {
    app,
    httpServer,
    gateway,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await gateway.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve, reject) => httpServer.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
