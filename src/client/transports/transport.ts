/** What the connection manager asks of each step of the fallback chain. */
import type { RestApi } from '../rest-api.js';
import type { ArchivedInfo, Notification, PresenceUpdate, ReadInfo, SeenInfo, TopicAck, TransportName } from '../types.js';

/**
 * - `unauthorized`: the gateway refused the token, or closed the connection when it
 *   expired (refresh it, then retry)
 * - `failed`: could not open (counts towards falling back to the next step); this
 *   includes too many open connections for the user (`too_many_connections`)
 * - `dropped`: was open, then lost (retry the same step with backoff)
 * - `rate_limited`: too many new connections from this address: wait `retryAfterMs`, then
 *   retry the same step (the other steps share the budget; falling back would not help)
 */
export type CloseReason = 'unauthorized' | 'failed' | 'dropped' | 'rate_limited';

export interface TransportContext {
  url: string;
  path: string;
  token: string;
  /** The position to resume after: the last notification id this client was delivered. */
  lastAckId: string | null;
  /**
   * True when this attempt restores a connection that was open and got lost (dropped, went
   * offline, closed at exp), not on a page load. The socket sends it as `auth.reconnect`,
   * so the gateway's reconnect rate counts real reconnects only.
   */
  reconnect?: boolean;
  /** Topics to hold (socket: `auth.topics`, so that the replay includes them); others ignore them. */
  topics?: readonly string[];
  /** This browser's device id (device-id.ts), sent in the socket handshake. */
  deviceId?: string;
  api: RestApi;
  fetch: typeof fetch;
  pollIntervalMs: number;
  connectTimeoutMs: number;
  /** Open and delivering; may be called again when the transport changes (long-polling → WebSocket). */
  onOpen(transport: TransportName): void;
  /** In commit order: the notification becomes the resume position. */
  onNotification(notification: Notification): void;
  /** Urgent, ahead of commit order (socket only): delivered, but never a resume position. */
  onOutOfBand(notification: Notification): void;
  onSynced(info: { replayed: number; recovered: boolean; topics?: TopicAck }): void;
  onRead(info: ReadInfo): void;
  /** Echoes of the user's other sessions opening the bell / archiving (socket and SSE only). */
  onSeen(info: SeenInfo): void;
  onArchived(info: ArchivedInfo): void;
  /** A watched topic's counts (socket only: `presence:subscribe`). */
  onPresence?(update: PresenceUpdate): void;
  /** Called at most once; the transport is already closed. `retryAfterMs` comes with `rate_limited`. */
  onClose(reason: CloseReason, retryAfterMs?: number): void;
}

export interface Transport {
  close(): void;
  /** Delivery acknowledgements, where the transport has a channel for them. */
  ack?(ids: string[]): void;
  /**
   * Hands the open connection a fresh token before the current one expires; resolves
   * true when the gateway took it. Absent: the connection is reopened with the new token.
   */
  renewToken?(token: string): Promise<boolean>;
  /** An event with an ack over the open connection (socket only: topics). */
  request?(event: string, payload: unknown): Promise<unknown> | null;
}

export type TransportFactory = (context: TransportContext) => Transport;
