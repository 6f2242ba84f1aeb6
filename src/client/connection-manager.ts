/**
 * Keeps one transport open, walking the fallback chain
 * (WebSocket → Socket.IO long-polling → SSE → REST short polling).
 *
 * - One attempt at a time. A `generation` number fences off callbacks from transports
 *   that were already replaced, so a late event can never touch the current state.
 * - `failed` (could not open) counts against the step; after `failuresBeforeFallback`
 *   the next step is tried, wrapping to the first after the last, so a gateway that
 *   comes back is found on its best transport. `dropped` (was open) retries the same step.
 * - Every retry waits a capped exponential backoff with jitter. With the default
 *   `maxAttempts` (Infinity) it never gives up; with a limit it stops with `gave_up`.
 * - `unauthorized`: ask `getToken` for a fresh token and retry at once; a second refusal
 *   in a row waits like any failure. Without `getToken` there is nothing to retry with:
 *   stop and report `unauthorized`. The gateway closing a connection whose token expired
 *   (`TOKEN_EXPIRED`) is handled the same way.
 * - Tokens are renewed before they expire: with `getToken`, at 90 % of the token's
 *   lifetime and at most 60 s before its `exp` (read from the JWT, not verified), a fresh
 *   token is asked for and handed to the open transport (`auth:refresh` on the socket);
 *   a transport that cannot take it in place (SSE) is reopened with it, resuming after
 *   the last delivered id. A `getToken` that returns no later token is not asked again
 *   until the gateway closes the connection at `exp`.
 * - `rate_limited` (too many new connections from this address): wait at least the
 *   `retryAfterMs` the gateway gave, on the same step.
 * - On a fallback step, the best step is retried every `upgradeAfterMs`.
 * - The browser's offline/online events close at once / reconnect at once, instead of
 *   waiting for timeouts (open WebSockets are not closed by the browser going offline).
 * - Attempts after an open connection was lost say so (`reconnect`, sent as
 *   `auth.reconnect`) until one opens; the first connection of a page load, and the
 *   manager's own switches (upgrade to WebSocket, reopening with a renewed token), do not.
 */
import { backoffDelay, refreshDelayMs, tokenExpiry } from './support.js';
import type { TokenSource } from './rest-api.js';
import type { ArchivedInfo, ClientError, ConnectionState, Notification, PresenceUpdate, ReadInfo, SeenInfo, TopicAck, TransportName } from './types.js';
import type { CloseReason, Transport, TransportContext, TransportFactory } from './transports/transport.js';

export interface ManagerOptions {
  steps: TransportFactory[];
  tokens: TokenSource;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  failuresBeforeFallback: number;
  upgradeAfterMs: number;
  context: Pick<TransportContext, 'url' | 'path' | 'api' | 'fetch' | 'pollIntervalMs' | 'connectTimeoutMs' | 'deviceId'>;
  /** The resume position for the user this token names. */
  lastAckId(token: string): string | null;
  /** Topics every new connection asks for (topic-subscriptions.ts). */
  topics?(): readonly string[];
  onNotification(notification: Notification, transport: TransportName): void;
  onOutOfBand?(notification: Notification, transport: TransportName): void;
  onSynced(info: { replayed: number; recovered: boolean; topics?: TopicAck }, transport: TransportName): void;
  onRead(info: ReadInfo): void;
  onSeen?(info: SeenInfo): void;
  onArchived?(info: ArchivedInfo): void;
  onPresence?(update: PresenceUpdate): void;
  onState(state: ConnectionState): void;
  onError(error: ClientError): void;
}

/** setTimeout's longest delay; a later renewal is re-armed when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ConnectionManager {
  private step = 0;
  private failures = 0;
  private attempt = 0;
  private generation = 0;
  private refreshedToken = false;
  private running = false;
  private transport: Transport | null = null;
  private current: TransportName | null = null;
  /** The token the current transport was opened with, or last renewed to. */
  private token: string | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private upgradeTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private renewAt = 0;
  /** An open connection was lost and none has opened since: the next one is a reconnect. */
  private lostConnection = false;

  constructor(private readonly options: ManagerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    globalThis.addEventListener?.('offline', this.wentOffline);
    globalThis.addEventListener?.('online', this.cameOnline);
    this.options.onState('connecting');
    void this.open();
  }

  stop(): void {
    this.running = false;
    globalThis.removeEventListener?.('offline', this.wentOffline);
    globalThis.removeEventListener?.('online', this.cameOnline);
    this.teardown();
  }

  ack(ids: string[]): void {
    this.transport?.ack?.(ids);
  }

  /** An event with an ack over the open transport; null when it has no such channel (or none is open). */
  request(event: string, payload: unknown): Promise<unknown> | null {
    return this.transport?.request?.(event, payload) ?? null;
  }

  private readonly wentOffline = () => {
    if (this.current !== null) this.lostConnection = true;
    this.teardown();
    this.options.onState('offline');
    this.retryLater();
  };

  private readonly cameOnline = () => {
    this.teardown();
    this.step = 0;
    this.failures = 0;
    this.attempt = 0;
    this.options.onState('connecting');
    void this.open();
  };

  private teardown(): void {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.upgradeTimer);
    clearTimeout(this.renewTimer);
    this.transport?.close();
    this.transport = null;
    this.current = null;
    this.token = null;
  }

  private async open(): Promise<void> {
    this.teardown();
    const generation = this.generation;
    const live = () => this.running && generation === this.generation;
    let token: string;
    try {
      token = await this.options.tokens.current();
    } catch (error) {
      if (!live()) return;
      this.options.onError({ code: 'unauthorized', message: `getToken failed: ${String(error)}` });
      this.options.onState('offline');
      return this.retryLater();
    }
    if (!live()) return;
    this.token = token;
    const factory = this.options.steps[this.step]!;
    this.transport = factory({
      ...this.options.context,
      token,
      lastAckId: this.options.lastAckId(token),
      reconnect: this.lostConnection,
      topics: this.options.topics?.() ?? [],
      onOpen: (name) => live() && this.opened(name),
      onNotification: (n) => live() && this.options.onNotification(n, this.current ?? 'websocket'),
      onOutOfBand: (n) => live() && this.options.onOutOfBand?.(n, this.current ?? 'websocket'),
      onSynced: (info) => live() && this.options.onSynced(info, this.current ?? 'websocket'),
      onRead: (info) => live() && this.options.onRead(info),
      onSeen: (info) => live() && this.options.onSeen?.(info),
      onArchived: (info) => live() && this.options.onArchived?.(info),
      onPresence: (update) => live() && this.options.onPresence?.(update),
      onClose: (reason, retryAfterMs) => live() && void this.closed(reason, retryAfterMs),
    });
  }

  private opened(name: TransportName): void {
    this.lostConnection = false;
    this.failures = 0;
    this.attempt = 0;
    this.refreshedToken = false;
    this.current = name;
    this.options.onState(name === 'websocket' ? 'live' : 'fallback');
    this.scheduleRenewal();
    clearTimeout(this.upgradeTimer);
    if (name !== 'websocket' && this.options.steps.length > 1) {
      this.upgradeTimer = setTimeout(() => {
        this.step = 0;
        this.failures = 0;
        void this.open();
      }, this.options.upgradeAfterMs);
    }
  }

  private async closed(reason: CloseReason, retryAfterMs?: number): Promise<void> {
    if (this.current !== null) this.lostConnection = true;
    this.transport = null;
    this.current = null;
    clearTimeout(this.upgradeTimer);
    clearTimeout(this.renewTimer);
    if (reason === 'unauthorized') return this.unauthorized();
    this.options.onState('offline');
    if (reason === 'rate_limited') return this.retryLater(retryAfterMs);
    if (reason === 'failed' && ++this.failures >= this.options.failuresBeforeFallback) {
      this.step = (this.step + 1) % this.options.steps.length;
      this.failures = 0;
    }
    this.retryLater();
  }

  private async unauthorized(): Promise<void> {
    const generation = this.generation;
    if (!this.options.tokens.canRefresh) {
      this.options.onError({ code: 'unauthorized', message: 'the gateway refused the token and there is no getToken to renew it' });
      this.options.onState('offline');
      this.running = false;
      return;
    }
    const retryAtOnce = !this.refreshedToken;
    this.refreshedToken = true;
    try {
      await this.options.tokens.refresh();
    } catch (error) {
      this.options.onError({ code: 'unauthorized', message: `getToken failed: ${String(error)}` });
    }
    if (generation !== this.generation || !this.running) return;
    if (retryAtOnce) return void this.open();
    this.options.onState('offline');
    this.retryLater();
  }

  /** Arms the renewal of the current token (with `getToken` and a token that has `exp`). */
  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    if (!this.options.tokens.canRefresh || this.token === null) return;
    const delay = refreshDelayMs(this.token, Date.now());
    if (delay === null) return;
    this.renewAt = Date.now() + delay;
    const generation = this.generation;
    this.renewTimer = setTimeout(() => void this.renew(generation), Math.min(delay, MAX_TIMER_MS));
  }

  private async renew(generation: number): Promise<void> {
    const live = () => this.running && generation === this.generation && this.transport !== null;
    if (!live() || this.token === null) return;
    if (this.renewAt - Date.now() > 1000) return this.scheduleRenewal(); // a capped timer, not due yet
    const previous = this.token;
    let fresh: string | null;
    try {
      fresh = await this.options.tokens.refresh();
    } catch (error) {
      if (live()) this.options.onError({ code: 'unauthorized', message: `getToken failed: ${String(error)}` });
      return;
    }
    if (!live() || fresh === null) return;
    // Not a later token (a cached one, say): asking again now would loop. The gateway
    // closes the connection at `exp`; the unauthorized path then asks for a new one.
    if ((tokenExpiry(fresh) ?? Number.POSITIVE_INFINITY) <= (tokenExpiry(previous) ?? Number.POSITIVE_INFINITY)) return;
    this.token = fresh;
    const renewed = (await this.transport?.renewToken?.(fresh)) ?? false;
    if (!live()) return;
    if (renewed) return this.scheduleRenewal();
    // The transport could not take it in place: reopen the same step with the fresh token.
    void this.open();
  }

  private retryLater(minDelayMs = 0): void {
    if (!this.running) return;
    if (this.attempt >= this.options.maxAttempts) {
      this.options.onError({ code: 'gave_up', message: `no connection after ${this.attempt} attempts` });
      this.running = false;
      return;
    }
    const delay = Math.max(minDelayMs, backoffDelay(this.attempt++, this.options.initialDelayMs, this.options.maxDelayMs));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }
}
