/** The token holder and the notification-center REST calls (with one token refresh on 401). */
import type { InboxNotification, InboxStatus, Notification, Preferences } from './types.js';

type GetToken = (reason: 'initial' | 'expired') => string | Promise<string>;

export class TokenSource {
  private token: string | undefined;
  private asking: Promise<string> | null = null;

  constructor(
    token: string | undefined,
    private readonly getToken: GetToken | undefined,
  ) {
    this.token = token;
  }

  get canRefresh(): boolean {
    return this.getToken !== undefined;
  }

  /** The token in hand, or the first one from `getToken`. */
  async current(): Promise<string> {
    if (this.token !== undefined) return this.token;
    if (!this.getToken) throw new Error('createNotificationClient needs `token` or `getToken`');
    return this.ask(this.getToken, 'initial');
  }

  /** A fresh token from `getToken`, or null when there is none to ask. */
  refresh(): Promise<string | null> {
    return this.getToken ? this.ask(this.getToken, 'expired') : Promise.resolve(null);
  }

  /** Concurrent callers share one `getToken` call. */
  private ask(getToken: GetToken, reason: 'initial' | 'expired'): Promise<string> {
    this.asking ??= (async () => {
      try {
        this.token = await getToken(reason);
        return this.token;
      } finally {
        this.asking = null;
      }
    })();
    return this.asking;
  }
}

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly details: ValidationDetail[] = [],
  ) {
    super(message);
  }
}

export interface HistoryPage {
  items: InboxNotification[];
  nextCursor: string | null;
}

export interface ListOptions {
  limit?: number;
  cursor?: string | null;
  /** @default not archived (unread and read) */
  status?: InboxStatus;
  /** Older spelling of `status: 'unread'`. */
  unread?: boolean;
}

export interface Counts {
  /** Unread, not archived. */
  count: number;
  /** Not seen yet: what the bell's badge shows. Absent from a gateway older than the `seen` state. */
  unseen?: number;
}

/** A refused preferences document: `details` name each bad field. */
export interface ValidationDetail {
  path: string;
  message: string;
}

export interface StreamSlice {
  items: Notification[];
  lastId: string | null;
  recovered: boolean;
}

export class RestApi {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource,
    private readonly fetchImpl: typeof fetch,
  ) {}

  list(options: ListOptions = {}): Promise<HistoryPage> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 20) });
    if (options.cursor) query.set('cursor', options.cursor);
    if (options.status) query.set('status', options.status);
    else if (options.unread) query.set('unread', '1');
    return this.call<HistoryPage>('GET', `/api/notifications?${query}`);
  }

  /** The commit-ordered stream after a position (short polling); `after` "" asks for the head. */
  streamAfter(after: string, limit: number, signal?: AbortSignal): Promise<StreamSlice> {
    const query = new URLSearchParams({ after, limit: String(limit) });
    return this.call<StreamSlice>('GET', `/api/notifications?${query}`, signal ? { signal } : {});
  }

  async unreadCount(): Promise<number> {
    return (await this.counts()).count;
  }

  counts(): Promise<Counts> {
    return this.call<Counts>('GET', '/api/notifications/unread-count');
  }

  async markRead(id: string): Promise<boolean> {
    return (await this.call<{ changed: boolean }>('POST', `/api/notifications/${encodeURIComponent(id)}/read`)).changed;
  }

  async markAllRead(): Promise<number> {
    return (await this.call<{ marked: number }>('POST', '/api/notifications/read-all')).marked;
  }

  /** Everything created up to `until` (or just `ids`) is seen: the badge goes to zero. */
  async markSeen(what: { until: string } | { ids: string[] }): Promise<void> {
    await this.call('POST', '/api/notifications/seen', { body: what });
  }

  async archive(id: string): Promise<void> {
    await this.call('POST', `/api/notifications/${encodeURIComponent(id)}/archive`);
  }

  async unarchive(id: string): Promise<void> {
    await this.call('POST', `/api/notifications/${encodeURIComponent(id)}/unarchive`);
  }

  getPreferences(): Promise<Preferences> {
    return this.call<Preferences>('GET', '/api/preferences');
  }

  /** Replaces the user's whole document; a refusal is an HttpStatusError with `details`. */
  putPreferences(document: Pick<Preferences, 'channels' | 'kinds'>): Promise<Preferences> {
    return this.call<Preferences>('PUT', '/api/preferences', { body: { channels: document.channels, kinds: document.kinds } });
  }

  /** Back to the tenant's defaults. */
  async resetPreferences(): Promise<void> {
    await this.call('DELETE', '/api/preferences');
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: { signal?: AbortSignal; body?: unknown } = {}): Promise<T> {
    let response = await this.send(method, path, await this.tokens.current(), options);
    if (response.status === 401) {
      const fresh = await this.tokens.refresh();
      if (fresh !== null) response = await this.send(method, path, fresh, options);
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: unknown } } | null;
      const details = Array.isArray(body?.error?.details) ? (body.error.details as ValidationDetail[]) : [];
      throw new HttpStatusError(response.status, body?.error?.message ?? `HTTP ${response.status}`, body?.error?.code ?? null, details);
    }
    // 204 (a DELETE) has no body.
    return (response.status === 204 ? null : await response.json()) as T;
  }

  private send(method: string, path: string, token: string, options: { signal?: AbortSignal; body?: unknown }): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}
