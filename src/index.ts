/**
 * The package root: the gateway embedded in a Node program, configured by an object.
 *
 *   import { createNotifyGateway } from 'notify-gateway';
 *   const gateway = await createNotifyGateway({ JWT_SECRET, NOTIFY_API_KEYS: [apiKey] });
 *   const port = await gateway.listen();   // PORT / HOST, or listen(port, host)
 *   await gateway.close();                 // drains sockets, the relay and the store
 *
 * The settings are the environment variables of README "Configuration", validated the
 * same way (a ConfigError names the bad one); the environment itself is not read. The
 * store is migrated before the promise resolves. Unlike the `notify-gateway` command,
 * nothing is generated: development credentials only exist for the command, so the
 * user-token key and the API keys must be given.
 *
 * Or inside an existing Express 5 app and HTTP server (README "Embedding in an existing
 * Express app"), with the same settings and guarantees:
 *
 *   import { attachNotifyGateway } from 'notify-gateway';
 *   const app = express();                 // the host's routes, before or after
 *   const httpServer = http.createServer(app);
 *   const gateway = await attachNotifyGateway({ app, httpServer, JWT_SECRET, NOTIFY_API_KEYS: [apiKey] });
 *   httpServer.listen(3000);               // the host listens; the gateway's work starts with it
 *   await gateway.close();                 // the gateway's part only; the host's server keeps serving
 *
 * The gateway's routes (/api/…, /healthz, /readyz, /metrics, /sdk/…) take only the
 * requests that match them; Socket.IO is at `socketPath` (default /socket.io).
 */
import type { Server as HttpServer } from 'node:http';
import { CONFIG_KEYS, ConfigError, type Config } from './config/config.js';
import type { ConfigKey, ConfigOptions, ConfigValue } from './config/config-options.js';
import { embeddedConfig } from './embed-config.js';
import { createGateway } from './gateway.js';

export type NotifyGatewayOptions = ConfigOptions;

export interface NotifyGateway {
  /** The validated, frozen settings in effect. */
  readonly config: Config;
  /** The HTTP server REST, SSE and Socket.IO share; `listen()` starts it. */
  readonly httpServer: HttpServer;
  /** Starts serving and the background work (relay, deliveries, sweeps); resolves with the port. */
  listen(port?: number, host?: string): Promise<number>;
  /** Stops accepting, finishes the work in flight, closes sockets and connections. */
  close(): Promise<void>;
}

export async function createNotifyGateway(options: NotifyGatewayOptions = {}): Promise<NotifyGateway> {
  const config = embeddedConfig(options);
  const gateway = await createGateway(config);
  return {
    config,
    httpServer: gateway.httpServer,
    listen: (port, host) => gateway.listen(port, host),
    close: () => gateway.close(),
  };
}

export { attachNotifyGateway } from './embed.js';
export type { AttachNotifyGatewayOptions, AttachedNotifyGateway } from './embed.js';
export { CONFIG_KEYS, ConfigError };
export type { Config, ConfigKey, ConfigValue };
