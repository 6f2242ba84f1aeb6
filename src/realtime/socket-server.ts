/**
 * The gateway's Socket.IO server on an HTTP server: the fan-out adapter with the replay
 * hold, 16 KB packets, the heartbeat and CORS of the config.
 *
 * On a host's server (embed.ts) the gateway must leave that server as it found it.
 * engine.io's attach takes over the server's 'request' listeners (it wraps them) and adds
 * 'upgrade', 'close' and 'listening' listeners; `close()` removes exactly those and gives
 * the host its request listeners back, and never closes the server itself. Upgrades on
 * other paths are left alone (`destroyUpgrade: false`): the host may run its own WebSockets.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Namespace } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { Config } from '../config/config.js';
import { engineHeaders } from '../http/security-headers.js';
import type { GatewayServer } from './socket-gateway.js';

/** Socket.IO packets above this are refused (the connection is closed). */
export const MAX_SOCKET_PACKET_BYTES = 16 * 1024;
export const DEFAULT_SOCKET_PATH = '/socket.io';

type SocketConfig = Pick<Config, 'SOCKET_PING_INTERVAL_MS' | 'SOCKET_PING_TIMEOUT_MS' | 'CORS_ORIGINS'>;

export interface SocketServerOptions {
  adapter: (nsp: Namespace) => Adapter;
  config: SocketConfig;
  /** @default "/socket.io" */
  path?: string;
  /** The HTTP server belongs to someone else: close() detaches from it instead of closing it. */
  hostServer?: boolean;
}

export interface SocketServer {
  readonly io: GatewayServer;
  /** Disconnects every socket, closes the engine; closes the HTTP server only when it is the gateway's own. */
  close(): Promise<void>;
}

const SERVER_EVENTS = ['request', 'upgrade', 'close', 'listening'] as const;

export function createSocketServer(httpServer: HttpServer, options: SocketServerOptions): SocketServer {
  const before = listenersOf(httpServer);
  const io: GatewayServer = new Server(httpServer, {
    adapter: options.adapter,
    path: options.path ?? DEFAULT_SOCKET_PATH,
    serveClient: false,
    maxHttpBufferSize: MAX_SOCKET_PACKET_BYTES,
    perMessageDeflate: false,
    // Heartbeat: README "Production" says why these defaults and which proxy timeouts match.
    pingInterval: options.config.SOCKET_PING_INTERVAL_MS,
    pingTimeout: options.config.SOCKET_PING_TIMEOUT_MS,
    // Same origins as the REST routes (http/cors.ts); none: no CORS headers.
    ...(options.config.CORS_ORIGINS.length > 0 && { cors: { origin: [...options.config.CORS_ORIGINS], credentials: true } }),
    ...(options.hostServer && { destroyUpgrade: false }),
  });
  io.engine.on('headers', engineHeaders);
  if (!options.hostServer) return { io, close: () => closeWithServer(io, httpServer) };

  const after = listenersOf(httpServer);
  return {
    io,
    async close() {
      // io.close() ends with httpServer.close(): without the server, it stops at the engine.
      (io as { httpServer: HttpServer | undefined }).httpServer = undefined;
      await io.close();
      for (const event of SERVER_EVENTS) {
        for (const added of after[event]) if (!before[event].includes(added)) httpServer.off(event, added);
      }
      for (const own of before.request) if (!httpServer.listeners('request').includes(own)) httpServer.on('request', own);
    },
  };
}

type Listener = (...args: unknown[]) => void;

function listenersOf(server: HttpServer): Record<(typeof SERVER_EVENTS)[number], Listener[]> {
  const of = (event: string) => server.listeners(event) as Listener[];
  return { request: of('request'), upgrade: of('upgrade'), close: of('close'), listening: of('listening') };
}

/** In-flight requests get this long to finish after close starts; then connections are cut. */
const HTTP_DRAIN_MS = 3000;

/**
 * Closes sockets (clients reconnect elsewhere and replay) and the HTTP server. A busy
 * keep-alive connection would keep `server.close()` waiting forever: idle ones are
 * closed now, responses meanwhile carry `Connection: close`, the rest are cut after
 * HTTP_DRAIN_MS.
 */
function closeWithServer(io: GatewayServer, httpServer: HttpServer): Promise<void> {
  return new Promise<void>((resolve) => {
    io.close(() => resolve());
    httpServer.closeIdleConnections();
    setTimeout(() => httpServer.closeAllConnections(), HTTP_DRAIN_MS).unref();
  });
}
