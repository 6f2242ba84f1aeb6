/** The token holder and the notification-center REST calls (with one token refresh on 401). */
import type { InboxNotification, Notification } from './types.js';

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
  ) {
    super(message);
  }
}

export interface HistoryPage {
  items: InboxNotification[];
  nextCursor: string | null;
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

  list(options: { limit?: number; cursor?: string | null; unread?: boolean } = {}): Promise<HistoryPage> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 20) });
    if (options.cursor) query.set('cursor', options.cursor);
    if (options.unread) query.set('unread', '1');
    return this.call<HistoryPage>('GET', `/api/notifications?${query}`);
  }

  /** The commit-ordered stream after a position (short polling); `after` "" asks for the head. */
  streamAfter(after: string, limit: number, signal?: AbortSignal): Promise<StreamSlice> {
    const query = new URLSearchParams({ after, limit: String(limit) });
    return this.call<StreamSlice>('GET', `/api/notifications?${query}`, signal);
  }

  async unreadCount(): Promise<number> {
    return (await this.call<{ count: number }>('GET', '/api/notifications/unread-count')).count;
  }

  async markRead(id: string): Promise<boolean> {
    return (await this.call<{ changed: boolean }>('POST', `/api/notifications/${encodeURIComponent(id)}/read`)).changed;
  }

  async markAllRead(): Promise<number> {
    return (await this.call<{ marked: number }>('POST', '/api/notifications/read-all')).marked;
  }

  private async call<T>(method: 'GET' | 'POST', path: string, signal?: AbortSignal): Promise<T> {
    let response = await this.send(method, path, await this.tokens.current(), signal);
    if (response.status === 401) {
      const fresh = await this.tokens.refresh();
      if (fresh !== null) response = await this.send(method, path, fresh, signal);
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new HttpStatusError(response.status, body?.error?.message ?? `HTTP ${response.status}`);
    }
    return (await response.json()) as T;
  }

  private send(method: string, path: string, token: string, signal?: AbortSignal): Promise<Response> {
    return this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      cache: 'no-store',
      ...(signal ? { signal } : {}),
    });
  }
}
