/**
 * NotificationCenter — the state a bell-and-list UI needs, framework-free: live
 * deliveries merged with REST history (by id, newest first), the unread count, the
 * connection state. React binds to it through `useNotifications`; any other framework
 * can use `subscribe` / `getSnapshot` the same way.
 *
 * The unread count is the server's: it is refetched shortly after every change and
 * shown optimistically meanwhile (+1 on a new unread delivery, −1 on a read). A count
 * answer is applied only if nothing changed while it was in flight, otherwise it is
 * asked again — so a reply that raced a delivery cannot leave the badge off by one.
 */
import type { NotificationClient } from './notification-client.js';
import type { ClientError, ConnectionState, DeliveryMeta, Notification, ReadInfo } from './types.js';

export interface CenterItem extends Notification {
  read: boolean;
}

export interface CenterSnapshot {
  state: ConnectionState;
  /** Newest first. */
  notifications: readonly CenterItem[];
  unreadCount: number;
  hasMore: boolean;
  loading: boolean;
  error: ClientError | null;
}

export interface CenterOptions {
  /** History page size for `loadMore`. @default 20 */
  pageSize?: number;
  /** Every new delivery (not history), e.g. to toast high-priority ones. */
  onNotification?: (notification: Notification, meta: DeliveryMeta) => void;
}

const COUNT_DEBOUNCE_MS = 100;

const newestFirst = (a: CenterItem, b: CenterItem) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;

export class NotificationCenter {
  private readonly items = new Map<string, CenterItem>();
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: (() => void)[];
  private snapshot: CenterSnapshot;
  private cursor: string | null = null;
  private count = 0;
  private changes = 0;
  private countTimer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;

  constructor(
    private readonly client: NotificationClient,
    private readonly options: CenterOptions = {},
  ) {
    this.snapshot = { state: client.state, notifications: [], unreadCount: 0, hasMore: true, loading: false, error: null };
    this.unsubscribe = [
      client.on('notification', (n, meta) => this.delivered(n, meta)),
      client.on('read', (info) => this.read(info)),
      client.on('synced', (info) => {
        if (!info.recovered) void this.refreshFirstPage();
        this.countChanged();
      }),
      client.on('state', (state) => this.publish({ state })),
      client.on('error', (error) => this.publish({ error })),
    ];
    void this.loadMore();
    void this.fetchCount();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): CenterSnapshot => this.snapshot;

  /** The next page of history (older than what is shown). */
  async loadMore(): Promise<void> {
    if (this.snapshot.loading || !this.snapshot.hasMore) return;
    this.publish({ loading: true });
    try {
      const page = await this.client.list({ limit: this.options.pageSize ?? 20, cursor: this.cursor });
      this.merge(page.items);
      this.cursor = page.nextCursor;
      this.publish({ loading: false, hasMore: page.nextCursor !== null });
    } catch (error) {
      this.publish({ loading: false, error: { code: 'server', message: String(error) } });
    }
  }

  async markRead(id: string): Promise<void> {
    const item = this.items.get(id);
    if (item && !item.read) this.setRead([id]);
    try {
      await this.client.markRead(id);
    } catch (error) {
      if (item && !item.read) this.items.set(id, { ...item, read: false });
      this.countChanged();
      this.publish({ error: { code: 'server', message: String(error) } });
    }
  }

  async markAllRead(): Promise<void> {
    this.read({ ids: [], all: true });
    try {
      await this.client.markAllRead();
    } catch (error) {
      this.countChanged();
      this.publish({ error: { code: 'server', message: String(error) } });
    }
  }

  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.countTimer);
    for (const off of this.unsubscribe) off();
    this.listeners.clear();
  }

  private delivered(notification: Notification, meta: DeliveryMeta): void {
    if (!this.items.has(notification.id)) {
      this.items.set(notification.id, { ...notification, read: false });
      this.count += 1;
    }
    this.countChanged();
    this.options.onNotification?.(notification, meta);
  }

  private read(info: ReadInfo): void {
    const ids = info.all
      ? [...this.items.values()].filter((i) => info.until === undefined || Date.parse(i.createdAt) <= Date.parse(info.until)).map((i) => i.id)
      : info.ids;
    this.setRead(ids);
    if (info.all && info.until === undefined) this.count = 0;
  }

  private setRead(ids: readonly string[]): void {
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item || item.read) continue;
      this.items.set(id, { ...item, read: true });
      this.count = Math.max(0, this.count - 1);
    }
    this.countChanged();
  }

  private merge(items: readonly CenterItem[]): void {
    for (const item of items) {
      const known = this.items.get(item.id);
      // A read seen live (or made here) wins over an older unread page.
      this.items.set(item.id, { ...item, read: item.read || (known?.read ?? false) });
    }
  }

  private async refreshFirstPage(): Promise<void> {
    try {
      const page = await this.client.list({ limit: this.options.pageSize ?? 20 });
      this.merge(page.items);
      this.publish({});
    } catch {
      // The next synced or loadMore tries again.
    }
  }

  /** Something changed the count: show the optimistic value now, confirm with the server shortly. */
  private countChanged(): void {
    this.changes += 1;
    this.publish({});
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => void this.fetchCount(), COUNT_DEBOUNCE_MS);
  }

  private async fetchCount(): Promise<void> {
    const asked = this.changes;
    try {
      const count = await this.client.unreadCount();
      if (this.destroyed) return;
      if (asked !== this.changes) return; // a newer change has its own fetch scheduled
      this.count = count;
      this.publish({});
    } catch {
      // Keep the optimistic count; the next change asks again.
    }
  }

  private publish(change: Partial<CenterSnapshot>): void {
    if (this.destroyed) return;
    const notifications = [...this.items.values()].sort(newestFirst);
    this.snapshot = { ...this.snapshot, ...change, notifications, unreadCount: this.count };
    for (const listener of [...this.listeners]) listener();
  }
}
