/**
 * The Socket.IO namespace of each app the gateway serves (apps/app-scope.ts), made once
 * at start and given the gateway's middleware (socket-gateway.ts). Emits look their
 * namespace up here by the storage tenant key, never through `io.of(name)`, which would
 * create a namespace without that middleware for a name nobody configured.
 */
import type { Namespace } from 'socket.io';
import { appOfTenant, namespaceOf } from '../apps/app-scope.js';
import type { GatewayServer } from './socket-gateway.js';

type GatewayNamespace = ReturnType<GatewayServer['of']>;
type GatewaySocket = GatewayNamespace extends Namespace<infer L, infer E, infer S, infer D> ? import('socket.io').Socket<L, E, S, D> : never;

export class AppNamespaces {
  private readonly byApp = new Map<string, GatewayNamespace>();

  constructor(io: GatewayServer, apps: readonly string[]) {
    for (const app of apps) this.byApp.set(app, io.of(namespaceOf(app)));
  }

  /** The namespace rows of this tenant key are emitted in; undefined for an app not served. */
  ofTenant(tenantKey: string): GatewayNamespace | undefined {
    return this.byApp.get(appOfTenant(tenantKey));
  }

  entries(): IterableIterator<[string, GatewayNamespace]> {
    return this.byApp.entries();
  }

  /** Every local socket of every app. */
  *sockets(): Generator<GatewaySocket> {
    for (const nsp of this.byApp.values()) yield* nsp.sockets.values();
  }
}
