/**
 * The gateway inside a host's program: its routes on the host's Express 5 app, its
 * Socket.IO server on the host's HTTP server, with the guarantees of the standalone
 * gateway (README "Embedding in an existing Express app").
 *
 * What stays the host's: listening, its own routes (the gateway's only take requests
 * that match one of them: embed-routes.ts), its error handling and 'trust proxy', other
 * upgrades on the server. What the gateway owns: its Socket.IO server (own adapter, so
 * the replay hold and the Redis fan-out hold for every socket on it), its stores and
 * connections. `close()` releases exactly those.
 */
import type { Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import type { Server as SocketIoServer } from 'socket.io';
import { ConfigError, type Config } from './config/config.js';
import type { ConfigOptions } from './config/config-options.js';
import { embeddedConfig } from './embed-config.js';
import { mountGatewayRoutes, refuseEarlyBodyParsers } from './embed-routes.js';
import { createGateway } from './gateway.js';

export interface AttachNotifyGatewayOptions extends ConfigOptions {
  /** The host's Express 5 app; the gateway's routes are mounted on it, at the root. */
  readonly app: Express;
  /** The server `app` is served by (`http.createServer(app)`); the gateway's Socket.IO attaches to it. */
  readonly httpServer: HttpServer;
  /** Socket.IO's path on `httpServer` (the SDK's `path` option). @default "/socket.io" */
  readonly socketPath?: string;
}

export interface AttachedNotifyGateway {
  /** The validated, frozen settings in effect. */
  readonly config: Config;
  /** The gateway's own Socket.IO server on `httpServer`, at `socketPath`. */
  readonly io: SocketIoServer;
  /** Starts the background work (relay, deliveries, sweeps); runs by itself once `httpServer` listens. */
  start(): void;
  /** Stops the gateway's work, sockets and connections; the host's app and server keep serving. */
  close(): Promise<void>;
}

export async function attachNotifyGateway(options: AttachNotifyGatewayOptions): Promise<AttachedNotifyGateway> {
  const { app, httpServer, socketPath, ...settings } = options;
  if (typeof app !== 'function' || typeof app.use !== 'function' || !('router' in app)) {
    throw new ConfigError('app: an Express 5 application is required (const app = express())');
  }
  if (typeof httpServer?.listen !== 'function' || typeof httpServer.listeners !== 'function') {
    throw new ConfigError('httpServer: a Node HTTP server is required (http.createServer(app))');
  }
  if (socketPath !== undefined && !/^\/[^?#\s]*$/.test(socketPath)) {
    throw new ConfigError(`socketPath: "${socketPath}" must be a path starting with "/"`);
  }
  const config = embeddedConfig(settings);
  refuseEarlyBodyParsers(app);

  const gateway = await createGateway(config, { host: { httpServer, socketPath } });
  let routes: ReturnType<typeof mountGatewayRoutes>;
  try {
    routes = mountGatewayRoutes(app, gateway.httpRoutes);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  // Listening is the host's: the background work starts with it (or now, if it already listens).
  const startOnListen = () => gateway.start();
  if (httpServer.listening) gateway.start();
  else httpServer.once('listening', startOnListen);

  let closing: Promise<void> | null = null;
  return {
    config,
    io: gateway.io,
    start: () => gateway.start(),
    close() {
      closing ??= (async () => {
        httpServer.off('listening', startOnListen);
        // /readyz answers 503 "draining" while this runs; afterwards our paths are the host's.
        await gateway.close();
        routes.unmount();
      })();
      return closing;
    },
  };
}
