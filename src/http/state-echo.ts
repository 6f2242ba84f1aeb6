/**
 * State echo: when a user changes the state of notifications (read, seen, archived),
 * every open session of that user hears about it, so all tabs and devices agree.
 *
 * - One path for every state change: `publish(who, name, change)`, where `name` is the
 *   socket event (`notification:read`, `notification:seen`, `notification:archived`) and
 *   `change` its payload (ServerToClientEvents in realtime/socket-gateway.ts).
 * - Socket sessions get the event through the user's adapter room, which already
 *   crosses instances.
 * - SSE streams are plain HTTP responses, not adapter members: they subscribe here. On
 *   this instance a local emitter reaches them; with Redis the echo also travels as a
 *   server-side event through the same adapter (one path across processes).
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'socket.io';
import type { Principal } from '../auth/user-token.js';
import { userRoom } from '../realtime/rooms.js';
import type { GatewayServer, ServerToClientEvents } from '../realtime/socket-gateway.js';
import type { AppNamespaces } from '../realtime/app-namespaces.js';

export type StateEventName = 'notification:read' | 'notification:seen' | 'notification:archived';
export type StateChange<K extends StateEventName> = Parameters<ServerToClientEvents[K]>[0];
/** One echoed change, as SSE subscribers receive it. */
export type StateEvent = { [K in StateEventName]: { name: K; change: StateChange<K> } }[StateEventName];

export interface StateEcho {
  publish<K extends StateEventName>(who: Principal, name: K, change: StateChange<K>): void;
  /** Returns the unsubscribe function. */
  subscribe(who: Principal, listener: (event: StateEvent) => void): () => void;
}

export const STATE_ECHO_EVENT = 'notify:state-echo';

interface EchoMessage {
  who: Principal;
  event: StateEvent;
}

export function createStateEcho(io: GatewayServer, namespaces: AppNamespaces, crossInstance: boolean): StateEcho {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const key = (who: Principal) => JSON.stringify([who.tenantId, who.userId]);
  // The typed server declares no server-side events; this one is private to the echo.
  const untyped = io as unknown as Server;
  if (crossInstance) {
    untyped.on(STATE_ECHO_EVENT, (message: EchoMessage) => local.emit(key(message.who), message.event));
  }
  return {
    publish(who, name, change) {
      const event = { name, change } as StateEvent;
      (namespaces.ofTenant(who.tenantId) as Server['sockets'] | undefined)?.to(userRoom(who.tenantId, who.userId)).emit(name, change);
      local.emit(key(who), event);
      const principal = { tenantId: who.tenantId, userId: who.userId };
      if (crossInstance) untyped.serverSideEmit(STATE_ECHO_EVENT, { who: principal, event } satisfies EchoMessage);
    },
    subscribe(who, listener) {
      local.on(key(who), listener);
      return () => local.off(key(who), listener);
    },
  };
}
