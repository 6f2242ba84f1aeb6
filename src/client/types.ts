/** The SDK's public types. The wire shapes mirror the README's contract (the SDK never imports server code). */

export type Priority = 'low' | 'medium' | 'high' | 'urgent';

/** What the gateway delivers (`notification` event, SSE `notification`, REST items). */
export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  priority: Priority;
  scope: 'user' | 'tenant' | 'topic' | 'app' | 'segment';
  tenantId: string;
  createdAt: string;
  /** Scope "topic": the topics it was sent to (a socket gets it once, for those it subscribed). */
  topics?: string[];
  /** Sent to these devices of the user only (`devices` on notify); absent: every device. */
  devices?: string[];
  /** Scope "segment": the segments it was sent to (the user is a member of at least one). */
  segments?: string[];
  /**
   * Sent `transient: true`: live only, never stored or replayed. Not a resume position
   * and not acked (its id is in no stream).
   */
  transient?: true;
  /** Sent by a replay on connect (resumed or fresh device), not live: never worth a toast. */
  replayed?: true;
}

/** A history item from the REST notification center. */
export interface InboxNotification extends Notification {
  read: boolean;
  readAt: string | null;
  /** The bell was opened after it arrived (`POST /api/notifications/seen`). */
  seen?: boolean;
  archived?: boolean;
  archivedAt?: string | null;
  /** Only with `includeMuted=1`: the user's preferences keep it out of the default list. */
  muted?: boolean;
}

/** Which history `GET /api/notifications` lists. @default not archived (unread and read) */
export type InboxStatus = 'unread' | 'read' | 'archived' | 'all';

/** `until`: everything created up to then is seen (the bell was opened). */
export interface SeenInfo {
  ids: string[];
  until?: string;
}

export interface ArchivedInfo {
  ids: string[];
  archived: boolean;
}

/** A channel key (`in_app`, a channel type or name) → on/off. */
export type ChannelSwitches = Record<string, boolean>;

/** Per kind or kind pattern (`*` = any run of characters): channel switches and a digest window. */
export type KindRule = Record<string, boolean | number> & { digestMinutes?: number };

/** `GET /api/preferences`: the user's document, and the tenant's defaults it falls back to. */
export interface Preferences {
  channels: ChannelSwitches;
  kinds: Record<string, KindRule>;
  tenantDefaults?: { channels?: ChannelSwitches; kinds?: Record<string, KindRule> } | null;
}

/**
 * - `connecting` — first connection (or after coming back online) in progress
 * - `live` — Socket.IO over WebSocket
 * - `fallback` — delivering through long-polling, SSE or REST short polling
 * - `offline` — nothing delivers right now; retrying with backoff
 */
export type ConnectionState = 'connecting' | 'live' | 'fallback' | 'offline';

/** The fallback chain, in order. */
export type TransportName = 'websocket' | 'long-polling' | 'sse' | 'rest-polling';

export interface SyncedInfo {
  replayed: number;
  /** false: the gap could not be replayed (unknown or too old position) — refetch history over REST. */
  recovered: boolean;
  transport: TransportName;
  /** The gateway's verdict on the topics this connection asked for (socket only). */
  topics?: TopicAck;
}

/** `all` + `until`: everything created up to `until` is read. */
export interface ReadInfo {
  ids: string[];
  all?: boolean;
  until?: string;
}

export interface DeliveryMeta {
  transport: TransportName;
  /** Part of a reconnect replay (before `synced`), as opposed to live. */
  replayed: boolean;
  /**
   * An urgent notification sent at once, ahead of commit order (Socket.IO only). It is
   * not the resume position: that moves past it only when its in-order copy arrives,
   * which is then not delivered again.
   */
  outOfBand: boolean;
  /** Live (not replayed) and priority high or urgent: worth interrupting the user (a toast, a sound). */
  toast: boolean;
  /** Live only (`transient: true`: progress, typing): not stored, not in history, not a resume position. */
  transient?: boolean;
}

/** The answer to `client.subscribe`: granted topics, and the denied ones with a reason (`forbidden`, `too_many_topics`, `check_unavailable`, …). */
export interface TopicAck {
  granted: string[];
  denied: { topic: string; reason: string }[];
}

/** How a topic notification reached `client.onTopic` listeners. */
export interface TopicDeliveryMeta {
  transport: TransportName;
  /** Part of a reconnect replay (before `synced`), as opposed to live. */
  replayed: boolean;
  /** Live only (`transient: true`): never replayed, not a resume position. */
  transient: boolean;
  /** Urgent, ahead of commit order (Socket.IO only); its in-order copy is not delivered again. */
  outOfBand: boolean;
}

/** A topic's presence (`client.watchPresence`): sockets holding it, and distinct users among them. */
export interface PresenceUpdate {
  topic: string;
  connections: number;
  users: number;
}

/** What `client.watchPresence` returns. */
export interface PresenceWatch {
  /** The gateway's verdict on the topics (a denied topic is not watched; the next socket sync answers when none is open). */
  ready: Promise<TopicAck>;
  /** Stops this handler; a topic nobody watches any more is let go at the gateway. */
  stop(): void;
}

export type ClientErrorCode = 'unauthorized' | 'gave_up' | 'server';

export interface ClientError {
  code: ClientErrorCode;
  message: string;
}

export interface NotificationClientEvents {
  notification: (notification: Notification, meta: DeliveryMeta) => void;
  synced: (info: SyncedInfo) => void;
  read: (info: ReadInfo) => void;
  /** Seen here or in another session of the same user. */
  seen: (info: SeenInfo) => void;
  /** Archived or unarchived here or in another session of the same user. */
  archived: (info: ArchivedInfo) => void;
  state: (state: ConnectionState) => void;
  error: (error: ClientError) => void;
}

/** Where `lastAckId` survives reloads; synchronous like localStorage. */
export interface CursorStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
}

export interface ReconnectOptions {
  /** @default 500 */
  initialDelayMs?: number;
  /** @default 30000 */
  maxDelayMs?: number;
  /** Consecutive failed attempts before giving up (with an `error` event). @default Infinity */
  maxAttempts?: number;
}

export interface NotificationClientOptions {
  /** Gateway origin, e.g. "https://notify.example.com". @default location.origin */
  url?: string;
  /** A user JWT; or give `getToken`, or both (then `getToken` is only asked for refreshes). */
  token?: string;
  /**
   * Called for the first token when `token` is absent, whenever the gateway says
   * "unauthorized" or closes a connection whose token expired, and shortly before the
   * token's `exp` (reason `'expired'`; at 90 % of its lifetime, at most 60 s before) so
   * that open connections are renewed without a gap.
   */
  getToken?: (reason: 'initial' | 'expired') => string | Promise<string>;
  /** `null` keeps the cursor in memory only. @default localStorage when available */
  storage?: CursorStorage | null;
  /**
   * This client's device (`auth.deviceId`): notifications sent with `devices` reach only the
   * devices they name. @default an id generated once and kept in `storage` under `notify:deviceId`
   */
  deviceId?: string;
  /** The fallback chain to use, in this order. @default all four */
  transports?: TransportName[];
  /** Socket.IO path. @default "/socket.io" */
  path?: string;
  /** Acks are batched for this long. @default 300 */
  ackDelayMs?: number;
  reconnect?: ReconnectOptions;
  /** Failed attempts on one step before trying the next one. @default 2 */
  failuresBeforeFallback?: number;
  /** While on a fallback, retry the best step this often. @default 60000 */
  upgradeAfterMs?: number;
  /** REST short-polling interval. @default 5000 */
  pollIntervalMs?: number;
  /** How many delivered ids are remembered for dedupe. @default 1000 */
  dedupeWindow?: number;
  /** A WebSocket/long-polling handshake slower than this counts as failed. @default 10000 */
  connectTimeoutMs?: number;
  /** Connect on creation. @default true */
  autoConnect?: boolean;
  fetch?: typeof fetch;
}
