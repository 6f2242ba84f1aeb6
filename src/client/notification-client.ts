/**
 * createNotificationClient — the browser SDK's core.
 *
 * Delivery rules:
 * 1. One resume position per user: `lastAckId`, the id of the last notification a
 *    stream transport (socket, SSE, REST stream) delivered. It is persisted per
 *    (tenant, user) — localStorage by default — and every (re)connect on every step
 *    of the fallback chain resumes after it, so an offline gap or a reload is replayed.
 * 2. It advances only on such deliveries, in the order they are received: the gateway
 *    sends commit order, and replays hold live events back until the replay is done,
 *    so "the last one received" is never ahead of one still missing. History read over
 *    REST is newest-first and not commit-ordered: it never moves the position.
 *    Urgent notifications may also come out of band (socket only, ahead of commit order):
 *    they reach the app at once (`meta.outOfBand`) but never move the position; it moves
 *    past them when their in-order copy arrives, which is not delivered again
 *    (out-of-band-ids.ts).
 * 3. Exactly once to the app: transport is at-least-once, so delivered ids are
 *    remembered (a bounded window) and a repeat is dropped before `notification` fires
 *    and without moving the position.
 * 4. Acks (`notify:ack`) are batched for `ackDelayMs`; only the socket carries them.
 * 5. Retries never stop by default (capped exponential backoff with jitter); an
 *    `unauthorized` answer makes the client ask `getToken` for a fresh token, and so does
 *    a token nearing its `exp` (renewed on the open connection, see connection-manager.ts).
 * 6. Read, seen and archive changes reach every tab: the gateway echoes
 *    `notification:read` / `:seen` / `:archived` to all of the user's sessions, and this
 *    tab tells its sibling tabs directly (BroadcastChannel), which also covers transports
 *    without a server echo (REST polling). Applying one twice changes nothing.
 */
import { ConnectionManager } from './connection-manager.js';
import { deviceIdFor } from './device-id.js';
import { OutOfBandIds } from './out-of-band-ids.js';
import { TopicSubscriptions, type PresenceHandler, type TopicHandler } from './topic-subscriptions.js';
import { RestApi, TokenSource, type Counts, type HistoryPage, type ListOptions } from './rest-api.js';
import { Emitter, RecentIds, defaultStorage, memoryStorage, tokenSubject } from './support.js';
import { pollTransport } from './transports/poll-transport.js';
import { socketTransport } from './transports/socket-transport.js';
import { sseTransport } from './transports/sse-transport.js';
import type { TransportFactory } from './transports/transport.js';
import type {
  ArchivedInfo,
  ConnectionState,
  CursorStorage,
  DeliveryMeta,
  Notification,
  NotificationClientEvents,
  NotificationClientOptions,
  PresenceWatch,
  ReadInfo,
  SeenInfo,
  TopicAck,
  TransportName,
} from './types.js';

/** What a tab tells its sibling tabs about its own changes. */
type SiblingMessage = { event: 'read'; info: ReadInfo } | { event: 'seen'; info: SeenInfo } | { event: 'archived'; info: ArchivedInfo };

const ALL_TRANSPORTS: TransportName[] = ['websocket', 'long-polling', 'sse', 'rest-polling'];

export class NotificationClient extends Emitter<NotificationClientEvents> {
  readonly api: RestApi;
  private readonly manager: ConnectionManager;
  private readonly storage: CursorStorage;
  private readonly recent: RecentIds;
  private readonly outOfBand: OutOfBandIds;
  private readonly topics = new TopicSubscriptions((event, payload) => this.manager.request(event, payload));
  private readonly ackDelayMs: number;
  private cursorKey: string | null = null;
  private cursor: string | null = null;
  private synced = false;
  private pendingAcks: string[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private channel: BroadcastChannel | null = null;
  private currentState: ConnectionState = 'offline';

  constructor(options: NotificationClientOptions) {
    super();
    const url = (options.url ?? globalThis.location?.origin ?? '').replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    const tokens = new TokenSource(options.token, options.getToken);
    this.api = new RestApi(url, tokens, fetchImpl);
    this.storage = options.storage === null ? memoryStorage() : (options.storage ?? defaultStorage());
    this.recent = new RecentIds(options.dedupeWindow ?? 1000);
    this.outOfBand = new OutOfBandIds(this.storage);
    this.ackDelayMs = options.ackDelayMs ?? 300;
    const reconnect = options.reconnect ?? {};
    this.manager = new ConnectionManager({
      steps: chain(options.transports ?? ALL_TRANSPORTS),
      tokens,
      initialDelayMs: reconnect.initialDelayMs ?? 500,
      maxDelayMs: reconnect.maxDelayMs ?? 30_000,
      maxAttempts: reconnect.maxAttempts ?? Number.POSITIVE_INFINITY,
      failuresBeforeFallback: options.failuresBeforeFallback ?? 2,
      upgradeAfterMs: options.upgradeAfterMs ?? 60_000,
      context: {
        url,
        path: options.path ?? '/socket.io',
        api: this.api,
        fetch: fetchImpl,
        pollIntervalMs: options.pollIntervalMs ?? 5_000,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        deviceId: deviceIdFor(this.storage, options.deviceId),
      },
      lastAckId: (token) => this.positionFor(token),
      topics: () => this.topics.list(),
      onNotification: (n, transport) => this.deliver(n, transport),
      onOutOfBand: (n, transport) => this.deliverOutOfBand(n, transport),
      onSynced: (info, transport) => {
        this.synced = true;
        void this.topics.connected(info.topics);
        this.emit('synced', { ...info, transport });
      },
      onRead: (info) => this.emit('read', info),
      onSeen: (info) => this.emit('seen', info),
      onArchived: (info) => this.emit('archived', info),
      onPresence: (update) => this.topics.presence(update),
      onState: (state) => {
        if (state !== 'live' && state !== 'fallback') this.synced = false;
        if (state === this.currentState) return;
        this.currentState = state;
        this.emit('state', state);
      },
      onError: (error) => this.emit('error', error),
    });
    if (options.autoConnect !== false) this.connect();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The resume position (id of the last notification delivered), if any. */
  get lastAckId(): string | null {
    return this.cursor;
  }

  connect(): void {
    this.manager.start();
  }

  close(): void {
    this.flushAcks(); // while the socket is still there to carry them
    this.manager.stop();
    this.channel?.close();
    this.channel = null;
    if (this.currentState !== 'offline') {
      this.currentState = 'offline';
      this.emit('state', 'offline');
    }
  }

  /** History, newest first (not a delivery: it never moves the resume position). */
  list(options: ListOptions = {}): Promise<HistoryPage> {
    return this.api.list(options);
  }

  unreadCount(): Promise<number> {
    return this.api.unreadCount();
  }

  /** Unread and unseen counts. */
  counts(): Promise<Counts> {
    return this.api.counts();
  }

  async markRead(id: string): Promise<void> {
    await this.api.markRead(id);
    this.readHere({ ids: [id] });
  }

  async markAllRead(): Promise<void> {
    await this.api.markAllRead();
    this.changedHere({ event: 'read', info: { ids: [], all: true } });
  }

  /** The bell was opened: everything created up to `until` (a server timestamp, e.g. the newest item's `createdAt`) is seen. */
  async markSeen(until: string): Promise<void> {
    await this.api.markSeen({ until });
    this.changedHere({ event: 'seen', info: { ids: [], until } });
  }

  async archive(id: string): Promise<void> {
    await this.api.archive(id);
    this.changedHere({ event: 'archived', info: { ids: [id], archived: true } });
  }

  async unarchive(id: string): Promise<void> {
    await this.api.unarchive(id);
    this.changedHere({ event: 'archived', info: { ids: [id], archived: false } });
  }

  private readHere(info: ReadInfo): void {
    this.changedHere({ event: 'read', info });
  }

  /** This tab's own change: apply it here at once and tell the sibling tabs. */
  private changedHere(message: SiblingMessage): void {
    this.fromSibling(message);
    this.channel?.postMessage(message);
  }

  private fromSibling(message: SiblingMessage): void {
    if (message.event === 'read') this.emit('read', message.info);
    else if (message.event === 'seen') this.emit('seen', message.info);
    else this.emit('archived', message.info);
  }

  /**
   * Topics (topic-subscriptions.ts): `subscribe` resolves with the gateway's verdict;
   * held topics are asked for again on every reconnect (their missed messages are
   * replayed with the user's own). Topic messages go to `onTopic` listeners, not to
   * `notification` (they are not in the user's history).
   */
  subscribe(topics: string[]): Promise<TopicAck> {
    return this.topics.subscribe(topics);
  }

  unsubscribe(topics: string[]): Promise<void> {
    return this.topics.unsubscribe(topics);
  }

  /** Listens to one topic's messages (durable and transient); returns the function that stops it. */
  onTopic(topic: string, handler: TopicHandler): () => void {
    return this.topics.on(topic, handler);
  }

  /**
   * Presence of topics (`{ topic, connections, users }`, at most once per second per topic,
   * when it changed): authorised like `subscribe`, watched again after every reconnect,
   * over a socket only. `stop()` ends this handler.
   */
  watchPresence(topics: string[], handler: PresenceHandler): PresenceWatch {
    return this.topics.watchPresence(topics, handler);
  }

  /**
   * Transient (live only, its id in no stream) and topic messages (in the stream, no inbox
   * row) are never acked; a transient one never becomes the resume position.
   */
  private deliverUnlisted(notification: Notification, transport: TransportName): boolean {
    const transient = notification.transient === true;
    if (!transient && notification.scope !== 'topic') return false;
    // An urgent topic message may have come out of band: its in-order copy only moves the position.
    const cameEarly = !transient && this.outOfBand.take(notification.id);
    if (!cameEarly && this.recent.has(notification.id)) return true;
    this.recent.add(notification.id);
    const replayed = notification.replayed === true || !this.synced;
    if (!transient) {
      this.cursor = notification.id;
      if (this.cursorKey) this.storage.set(this.cursorKey, notification.id);
    }
    if (cameEarly) return true;
    if (notification.scope === 'topic') this.topics.dispatch(notification, { transport, replayed, transient, outOfBand: false });
    else this.emit('notification', notification, { transport, replayed: false, outOfBand: false, toast: false, transient: true });
    return true;
  }

  /** In commit order: becomes the resume position; to the app unless it came out of band before. */
  private deliver(notification: Notification, transport: TransportName): void {
    if (this.deliverUnlisted(notification, transport)) return;
    const cameEarly = this.outOfBand.take(notification.id);
    if (!cameEarly && this.recent.has(notification.id)) return;
    this.recent.add(notification.id);
    this.cursor = notification.id;
    if (this.cursorKey) this.storage.set(this.cursorKey, notification.id);
    if (cameEarly) return;
    this.toApp(notification, { transport, replayed: notification.replayed === true || !this.synced, outOfBand: false });
  }

  /** Urgent, ahead of commit order: to the app now; the position waits for the in-order copy. */
  private deliverOutOfBand(notification: Notification, transport: TransportName): void {
    if (this.recent.has(notification.id) || this.outOfBand.has(notification.id)) return;
    this.recent.add(notification.id);
    this.outOfBand.add(notification.id);
    if (notification.scope === 'topic') this.topics.dispatch(notification, { transport, replayed: false, transient: false, outOfBand: true });
    else this.toApp(notification, { transport, replayed: false, outOfBand: true });
  }

  private toApp(notification: Notification, meta: Omit<DeliveryMeta, 'toast'>): void {
    this.pendingAcks.push(notification.id);
    this.ackTimer ??= setTimeout(() => this.flushAcks(), this.ackDelayMs);
    // A replayed one is old news (missed while away, or unacked on a fresh device): listed, never toasted.
    const toast = !meta.replayed && (notification.priority === 'high' || notification.priority === 'urgent');
    this.emit('notification', notification, { ...meta, toast });
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    this.manager.ack(this.pendingAcks);
    this.pendingAcks = [];
  }

  /** Loads the stored position the first time a token names the user (and again if the user changes). */
  private positionFor(token: string): string | null {
    const subject = tokenSubject(token);
    const key = subject ? `notify:lastAckId:${subject.tenantId}:${subject.userId}` : null;
    if (key !== this.cursorKey) {
      this.cursorKey = key;
      this.cursor = key ? this.storage.get(key) : null;
      this.outOfBand.load(subject ? `notify:outOfBand:${subject.tenantId}:${subject.userId}` : null);
      this.openChannel(subject);
    }
    return this.cursor;
  }

  private openChannel(subject: { tenantId: string; userId: string } | null): void {
    this.channel?.close();
    this.channel = null;
    if (!subject || typeof BroadcastChannel === 'undefined') return;
    this.channel = new BroadcastChannel(`notify:${subject.tenantId}:${subject.userId}`);
    this.channel.onmessage = (event: MessageEvent<SiblingMessage>) => this.fromSibling(event.data);
  }
}

function chain(wanted: TransportName[]): TransportFactory[] {
  const steps: TransportFactory[] = [];
  const engines = (['websocket', 'long-polling'] as const).filter((t) => wanted.includes(t));
  if (engines.length > 0) steps.push(socketTransport(engines.map((t) => (t === 'long-polling' ? 'polling' : 'websocket'))));
  if (wanted.includes('sse')) steps.push(sseTransport);
  if (wanted.includes('rest-polling')) steps.push(pollTransport);
  if (steps.length === 0) throw new Error('transports: name at least one of ' + ALL_TRANSPORTS.join(', '));
  return steps;
}

export function createNotificationClient(options: NotificationClientOptions): NotificationClient {
  return new NotificationClient(options);
}
