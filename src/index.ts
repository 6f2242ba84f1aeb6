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
 */
import type { Server as HttpServer } from 'node:http';
import { CONFIG_KEYS, ConfigError, type Config } from './config/config.js';
import { parseConfigOptions, type ConfigKey, type ConfigOptions, type ConfigValue } from './config/config-options.js';
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
  const config = parseConfigOptions(options);
  if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY) {
    throw new ConfigError('an embedded gateway needs JWT_SECRET or JWT_PUBLIC_KEY to verify user tokens');
  }
  if (config.NOTIFY_API_KEYS.length === 0) {
    throw new ConfigError('an embedded gateway needs NOTIFY_API_KEYS (a list of "key" or "key:tenant")');
  }
  const gateway = await createGateway(config);
  return {
    config,
    httpServer: gateway.httpServer,
    listen: (port, host) => gateway.listen(port, host),
    close: () => gateway.close(),
  };
}

export { CONFIG_KEYS, ConfigError };
export type { Config, ConfigKey, ConfigValue };
