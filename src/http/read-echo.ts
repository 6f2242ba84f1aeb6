/**
 * Read-state echo: when a user marks notifications read, every open session of that
 * user hears about it, so all tabs' badges agree.
 *
 * - Socket sessions get `notification:read` through the user's adapter room, which
 *   already crosses instances.
 * - SSE streams are plain HTTP responses, not adapter members: they subscribe here. On
 *   this instance a local emitter reaches them; with Redis the echo also travels as a
 *   server-side event through the same adapter (STYLE.md: one path across processes).
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'socket.io';
import type { Principal } from '../auth/user-token.js';
import { userRoom } from '../outbox/outbox-relay.js';
import type { GatewayServer } from '../realtime/socket-gateway.js';

/** `all` + `until`: everything created up to `until` is read (read-all may cover more ids than are listed). */
export interface ReadChange {
  ids: string[];
  all?: true;
  until?: string;
}

export interface ReadEcho {
  publish(who: Principal, change: ReadChange): void;
  /** Returns the unsubscribe function. */
  subscribe(who: Principal, listener: (change: ReadChange) => void): () => void;
}

export const READ_ECHO_EVENT = 'notify:read-echo';

interface EchoMessage {
  who: Principal;
  change: ReadChange;
}

export function createReadEcho(io: GatewayServer, crossInstance: boolean): ReadEcho {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const key = (who: Principal) => JSON.stringify([who.tenantId, who.userId]);
  // The typed server declares no server-side events; this one is private to the echo.
  const untyped = io as unknown as Server;
  if (crossInstance) {
    untyped.on(READ_ECHO_EVENT, (message: EchoMessage) => local.emit(key(message.who), message.change));
  }
  return {
    publish(who, change) {
      io.to(userRoom(who.tenantId, who.userId)).emit('notification:read', change);
      local.emit(key(who), change);
      if (crossInstance) untyped.serverSideEmit(READ_ECHO_EVENT, { who, change } satisfies EchoMessage);
    },
    subscribe(who, listener) {
      local.on(key(who), listener);
      return () => local.off(key(who), listener);
    },
  };
}
