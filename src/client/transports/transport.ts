/** What the connection manager asks of each step of the fallback chain. */
import type { RestApi } from '../rest-api.js';
import type { Notification, ReadInfo, TransportName } from '../types.js';

/**
 * - `unauthorized`: the gateway refused the token (refresh it, then retry)
 * - `failed`: could not open (counts towards falling back to the next step)
 * - `dropped`: was open, then lost (retry the same step with backoff)
 */
export type CloseReason = 'unauthorized' | 'failed' | 'dropped';

export interface TransportContext {
  url: string;
  path: string;
  token: string;
  /** The position to resume after: the last notification id this client was delivered. */
  lastAckId: string | null;
  api: RestApi;
  fetch: typeof fetch;
  pollIntervalMs: number;
  connectTimeoutMs: number;
  /** Open and delivering; may be called again when the transport changes (long-polling → WebSocket). */
  onOpen(transport: TransportName): void;
  onNotification(notification: Notification): void;
  onSynced(info: { replayed: number; recovered: boolean }): void;
  onRead(info: ReadInfo): void;
  /** Called at most once; the transport is already closed. */
  onClose(reason: CloseReason): void;
}

export interface Transport {
  close(): void;
  /** Delivery acknowledgements, where the transport has a channel for them. */
  ack?(ids: string[]): void;
}

export type TransportFactory = (context: TransportContext) => Transport;
