/** Small pieces of the SDK: a typed emitter, backoff with jitter, a bounded id set, storage, JWT claims. */
import type { CursorStorage } from './types.js';

type Listener = (...args: never[]) => void;

export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private listeners = new Map<keyof Events, Set<Listener>>();

  /** Returns the unsubscribe function. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (error) {
        // One broken listener must not stop delivery to the others, nor the cursor.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random,
 * so a fleet of clients reconnecting after an outage spreads out instead of stampeding.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Insertion-ordered set that forgets the oldest ids beyond `capacity` (dedupe with bounded memory). */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }
}

export function memoryStorage(): CursorStorage {
  const values = new Map<string, string>();
  return { get: (key) => values.get(key) ?? null, set: (key, value) => void values.set(key, value) };
}

/** localStorage when the page has one (not during SSR, not when blocked), else memory. */
export function defaultStorage(): CursorStorage {
  try {
    const local = globalThis.localStorage;
    const probe = '__notify_probe__';
    local.setItem(probe, probe);
    local.removeItem(probe);
    return {
      get: (key) => local.getItem(key),
      set: (key, value) => {
        try {
          local.setItem(key, value);
        } catch {
          // Quota or privacy mode: the in-memory cursor still works for this page.
        }
      },
    };
  } catch {
    return memoryStorage();
  }
}

/** A JWT's claims, read without verifying (the gateway verifies); null when it is not one. */
function tokenClaims(token: string): Record<string, unknown> | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The (tenant, user) a JWT names, read without verifying (the gateway verifies). */
export function tokenSubject(token: string): { tenantId: string; userId: string } | null {
  const claims = tokenClaims(token);
  if (!claims || typeof claims.sub !== 'string') return null;
  const tenantId = typeof claims.tid === 'string' ? claims.tid : 'default';
  const app = tokenApp(token);
  // Kept positions and tab channels are per app: the same tenant and user in two apps are two users.
  return { tenantId: app ? `${app}~${tenantId}` : tenantId, userId: claims.sub };
}

/** The token's `app` claim (README "Apps"), or null for the default app. */
export function tokenApp(token: string): string | null {
  const app = tokenClaims(token)?.app;
  return typeof app === 'string' && app !== 'default' ? app : null;
}

/** A JWT's `exp` in epoch milliseconds, or null (no `exp`, or not a JWT). */
export function tokenExpiry(token: string): number | null {
  const exp = tokenClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
}

/** Renew a token this long before its `exp` at most. */
export const REFRESH_LEAD_MAX_MS = 60_000;

/**
 * How long from `now` until a token should be renewed: at 90 % of its lifetime (from
 * `iat`, else from `now`), and no later than REFRESH_LEAD_MAX_MS before `exp`. 0 when that
 * moment has passed; null for a token without `exp` (nothing to renew).
 */
export function refreshDelayMs(token: string, now: number): number | null {
  const claims = tokenClaims(token);
  const expiresAt = tokenExpiry(token);
  if (!claims || expiresAt === null) return null;
  const issuedAt = typeof claims.iat === 'number' && claims.iat * 1000 <= expiresAt ? claims.iat * 1000 : now;
  const lead = Math.min(REFRESH_LEAD_MAX_MS, Math.max(0, (expiresAt - issuedAt) * 0.1));
  return Math.max(0, expiresAt - lead - now);
}
