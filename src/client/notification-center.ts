/**
 * NotificationCenter — the state a bell-and-list UI needs, framework-free: live
 * deliveries merged with REST history (by id, newest first), the unread and unseen
 * counts, the tab being shown and the connection state. React binds to it through
 * `useNotifications`; any other framework can use `subscribe` / `getSnapshot` the same way.
 *
 * Rules:
 * - One map of items, each with its `read`, `seen` and `archived` flags; a tab is a filter
 *   over it (`unread`: unread and not archived, `all`: not archived, `archived`) with its
 *   own REST pages (cursor, hasMore), fetched the first time the tab is shown.
 * - Changes made here, in sibling tabs or in the user's other sessions (the gateway's
 *   echoes) all arrive as the client's `read` / `seen` / `archived` events and are applied
 *   the same way; applying one twice changes nothing.
 * - A history page never undoes a newer change: reads only ever add, and an archive flag
 *   changed after the page was asked for keeps its local value.
 * - The counts are the server's: refetched shortly after every change and shown
 *   optimistically meanwhile (a new delivery is +1 unread and +1 unseen). As on the
 *   server, unseen counts only unread, unarchived items. A count answer
 *   is applied only if nothing changed while it was in flight, otherwise it is asked
 *   again — so a reply that raced a delivery cannot leave the badge off by one.
 */
import type { NotificationClient } from './notification-client.js';
import type { ArchivedInfo, ClientError, ConnectionState, DeliveryMeta, InboxNotification, Notification, ReadInfo, SeenInfo } from './types.js';

export interface CenterItem extends Notification {
  read: boolean;
  seen: boolean;
  archived: boolean;
}

/** The tabs of a notification center. */
export type CenterStatus = 'unread' | 'all' | 'archived';

export interface CenterSnapshot {
  state: ConnectionState;
  /** The tab `notifications` shows. @default 'all' */
  status: CenterStatus;
  /** The current tab's items, newest first. */
  notifications: readonly CenterItem[];
  unreadCount: number;
  /** Not seen yet (the bell has not been opened since they came): the bell's badge. */
  unseenCount: number;
  /** The current tab has older pages to load. */
  hasMore: boolean;
  /** The current tab is loading a page. */
  loading: boolean;
  error: ClientError | null;
}

export interface CenterOptions {
  /** History page size for `loadMore`. @default 20 */
  pageSize?: number;
  /** The tab shown first. @default 'all' */
  status?: CenterStatus;
  /** Every new delivery (not history), e.g. to toast high-priority ones. */
  onNotification?: (notification: Notification, meta: DeliveryMeta) => void;
}

interface Pager {
  cursor: string | null;
  hasMore: boolean;
  loading: boolean;
  started: boolean;
}

const COUNT_DEBOUNCE_MS = 100;
const STATUSES: readonly CenterStatus[] = ['unread', 'all', 'archived'];

const newestFirst = (a: CenterItem, b: CenterItem) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;

const inTab: Record<CenterStatus, (item: CenterItem) => boolean> = {
  unread: (item) => !item.read && !item.archived,
  all: (item) => !item.archived,
  archived: (item) => item.archived,
};

const freshPager = (): Pager => ({ cursor: null, hasMore: true, loading: false, started: false });

/** The snapshot before anything was loaded (also what React renders on the server). */
export function emptySnapshot(state: ConnectionState, status: CenterStatus): CenterSnapshot {
  return { state, status, notifications: [], unreadCount: 0, unseenCount: 0, hasMore: true, loading: false, error: null };
}

export class NotificationCenter {
  private readonly items = new Map<string, CenterItem>();
  /** When each id's archive flag last changed here (a `version`), to outrank older pages. */
  private readonly archiveChangedAt = new Map<string, number>();
  private readonly pagers = Object.fromEntries(STATUSES.map((s) => [s, freshPager()])) as Record<CenterStatus, Pager>;
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: (() => void)[];
  private snapshot: CenterSnapshot;
  private status: CenterStatus;
  private version = 0;
  private count = 0;
  private unseen = 0;
  private changes = 0;
  private countTimer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;

  constructor(
    private readonly client: NotificationClient,
    private readonly options: CenterOptions = {},
  ) {
    this.status = options.status ?? 'all';
    this.snapshot = emptySnapshot(client.state, this.status);
    this.unsubscribe = [
      client.on('notification', (n, meta) => this.delivered(n, meta)),
      client.on('read', (info) => this.read(info)),
      client.on('seen', (info) => this.seen(info)),
      client.on('archived', (info) => this.archived(info)),
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

  /** Shows another tab; its first page is fetched the first time. */
  setStatus(status: CenterStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.publish({});
    if (!this.pagers[status].started) void this.loadMore();
  }

  /** The next page of the current tab's history (older than what is shown). */
  async loadMore(): Promise<void> {
    const status = this.status;
    const pager = this.pagers[status];
    if (pager.loading || !pager.hasMore) return;
    pager.loading = true;
    pager.started = true;
    this.publish({});
    const asked = this.version;
    try {
      const page = await this.client.list({ limit: this.options.pageSize ?? 20, cursor: pager.cursor, ...statusQuery(status) });
      this.merge(page.items, asked);
      pager.cursor = page.nextCursor;
      pager.hasMore = page.nextCursor !== null;
      pager.loading = false;
      this.publish({});
    } catch (error) {
      pager.loading = false;
      this.publish({ error: { code: 'server', message: String(error) } });
    }
  }

  async markRead(id: string): Promise<void> {
    const item = this.items.get(id);
    if (item && !item.read) this.setRead([id]);
    try {
      await this.client.markRead(id);
    } catch (error) {
      const now = this.items.get(id);
      if (item && !item.read && now) this.items.set(id, { ...now, read: false });
      this.failed(error);
    }
  }

  async markAllRead(): Promise<void> {
    this.read({ ids: [], all: true });
    try {
      await this.client.markAllRead();
    } catch (error) {
      this.failed(error);
    }
  }

  /**
   * The bell was opened: everything listed so far is seen and the badge goes to zero.
   * `until` is the newest item's `createdAt` (the server's clock, not this browser's).
   * Nothing is sent when there is nothing unseen.
   */
  async markSeen(): Promise<void> {
    const newest = [...this.items.values()].sort(newestFirst)[0];
    if (this.unseen === 0 && ![...this.items.values()].some((i) => !i.seen && !i.read && !i.archived)) return;
    const until = newest?.createdAt ?? new Date().toISOString();
    this.seen({ ids: [], until });
    try {
      await this.client.markSeen(until);
    } catch (error) {
      this.failed(error);
    }
  }

  async archive(id: string): Promise<void> {
    await this.setArchived(id, true);
  }

  async unarchive(id: string): Promise<void> {
    await this.setArchived(id, false);
  }

  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.countTimer);
    for (const off of this.unsubscribe) off();
    this.listeners.clear();
  }

  private async setArchived(id: string, archived: boolean): Promise<void> {
    const before = this.items.get(id)?.archived;
    this.archived({ ids: [id], archived });
    try {
      await (archived ? this.client.archive(id) : this.client.unarchive(id));
    } catch (error) {
      if (before !== undefined) this.archived({ ids: [id], archived: before });
      this.failed(error);
    }
  }

  private delivered(notification: Notification, meta: DeliveryMeta): void {
    // Live-only ones (progress, typing) are in no history: the app hears of them, the list does not.
    if (meta.transient) return this.options.onNotification?.(notification, meta);
    if (!this.items.has(notification.id)) {
      this.items.set(notification.id, { ...notification, read: false, seen: false, archived: false });
      this.count += 1;
      this.unseen += 1;
    }
    this.countChanged();
    this.options.onNotification?.(notification, meta);
  }

  private read(info: ReadInfo): void {
    const ids = info.all ? this.idsUntil(info.until) : info.ids;
    this.setRead(ids);
    if (info.all && info.until === undefined) this.count = this.unseen = 0;
  }

  private setRead(ids: readonly string[]): void {
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item || item.read) continue;
      this.items.set(id, { ...item, read: true });
      if (item.archived) continue;
      this.count = Math.max(0, this.count - 1);
      if (!item.seen) this.unseen = Math.max(0, this.unseen - 1);
    }
    this.countChanged();
  }

  private seen(info: SeenInfo): void {
    const ids = new Set([...info.ids, ...(info.until === undefined ? [] : this.idsUntil(info.until))]);
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item || item.seen) continue;
      this.items.set(id, { ...item, seen: true });
      if (!item.archived && !item.read) this.unseen = Math.max(0, this.unseen - 1);
    }
    // Up to `until` covers the unloaded older ones too: only newer known ones can be left.
    if (info.until !== undefined) this.unseen = [...this.items.values()].filter((i) => !i.seen && !i.read && !i.archived).length;
    this.countChanged();
  }

  private archived(info: ArchivedInfo): void {
    let unknown = false;
    for (const id of info.ids) {
      const item = this.items.get(id);
      if (!item) {
        unknown = true;
        continue;
      }
      if (item.archived === info.archived) continue;
      this.items.set(id, { ...item, archived: info.archived });
      this.archiveChangedAt.set(id, ++this.version);
      const step = info.archived ? -1 : 1;
      if (item.read) continue;
      this.count = Math.max(0, this.count + step);
      if (!item.seen) this.unseen = Math.max(0, this.unseen + step);
    }
    // Unarchived in another session and never listed here: it belongs in the lists again.
    if (unknown && !info.archived) void this.refreshFirstPage();
    this.countChanged();
  }

  private idsUntil(until: string | undefined): string[] {
    const limit = until === undefined ? Number.POSITIVE_INFINITY : Date.parse(until);
    return [...this.items.values()].filter((i) => Date.parse(i.createdAt) <= limit).map((i) => i.id);
  }

  /** `asked`: the version when the page was requested; later local archive changes win. */
  private merge(items: readonly InboxNotification[], asked: number): void {
    for (const item of items) {
      const known = this.items.get(item.id);
      const keepLocalArchive = known !== undefined && (this.archiveChangedAt.get(item.id) ?? 0) > asked;
      this.items.set(item.id, {
        ...item,
        // A read or seen state met live (or made here) wins over an older page.
        read: item.read || (known?.read ?? false),
        seen: (item.seen ?? false) || (known?.seen ?? false),
        archived: keepLocalArchive ? known.archived : (item.archived ?? false),
      });
    }
  }

  /** After a gap that could not be replayed: the current tab's newest page again; the other tabs start over when shown. */
  private async refreshFirstPage(): Promise<void> {
    const status = this.status;
    for (const other of STATUSES) if (other !== status && !this.pagers[other].loading) this.pagers[other] = freshPager();
    const asked = this.version;
    try {
      const page = await this.client.list({ limit: this.options.pageSize ?? 20, ...statusQuery(status) });
      this.merge(page.items, asked);
      this.publish({});
    } catch {
      // The next synced or loadMore tries again.
    }
  }

  private failed(error: unknown): void {
    this.countChanged();
    this.publish({ error: { code: 'server', message: String(error) } });
  }

  /** Something changed the counts: show the optimistic values now, confirm with the server shortly. */
  private countChanged(): void {
    this.changes += 1;
    this.publish({});
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => void this.fetchCount(), COUNT_DEBOUNCE_MS);
  }

  private async fetchCount(): Promise<void> {
    const asked = this.changes;
    try {
      const counts = await this.client.counts();
      if (this.destroyed) return;
      if (asked !== this.changes) return; // a newer change has its own fetch scheduled
      this.count = counts.count;
      // A gateway without the seen state: every unread one counts as new.
      this.unseen = counts.unseen ?? counts.count;
      this.publish({});
    } catch {
      // Keep the optimistic counts; the next change asks again.
    }
  }

  private publish(change: Partial<CenterSnapshot>): void {
    if (this.destroyed) return;
    const pager = this.pagers[this.status];
    const notifications = [...this.items.values()].filter(inTab[this.status]).sort(newestFirst);
    this.snapshot = {
      ...this.snapshot,
      ...change,
      status: this.status,
      notifications,
      unreadCount: this.count,
      unseenCount: this.unseen,
      hasMore: pager.hasMore,
      loading: pager.loading,
    };
    for (const listener of [...this.listeners]) listener();
  }
}

/** The REST query of a tab: the server's default list is "not archived". */
function statusQuery(status: CenterStatus): { status?: 'unread' | 'archived' } {
  return status === 'all' ? {} : { status };
}
