/**
 * Step 3: Server-Sent Events from GET /api/stream, read with fetch() instead of
 * EventSource so that the token travels in a header (not the URL), a 401 is visible
 * (to refresh the token), and `Last-Event-ID` is our own cursor on every reconnect.
 * A stream that stays silent past the heartbeat window is treated as dead.
 *
 * 429 `RATE_LIMITED` (too many new connections from this address) → wait `Retry-After`,
 * same step; 429 `TOO_MANY_CONNECTIONS` (too many streams for the user) → a failed
 * attempt. `event: error` `TOKEN_EXPIRED` ends the stream → refresh the token and
 * reconnect. There is no `renewToken`: a stream cannot take a new token in place, so the
 * connection manager reopens it (resuming after Last-Event-ID) with the fresh one.
 * Commit order only: there is no out-of-band copy of urgent notifications here.
 */
import { SseParser } from '../sse-parser.js';
import type { ArchivedInfo, Notification, ReadInfo, SeenInfo } from '../types.js';
import type { CloseReason, Transport, TransportContext } from './transport.js';

/** The gateway sends a heartbeat every 15 s; three missed ones mean the stream is gone. */
const IDLE_TIMEOUT_MS = 45_000;

export function sseTransport(ctx: TransportContext): Transport {
  const controller = new AbortController();
  let done = false;
  let opened = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const finish = (reason: CloseReason, retryAfterMs?: number) => {
    if (done) return;
    done = true;
    clearTimeout(idle);
    controller.abort();
    ctx.onClose(reason, retryAfterMs);
  };
  const watchdog = () => {
    clearTimeout(idle);
    idle = setTimeout(() => finish(opened ? 'dropped' : 'failed'), IDLE_TIMEOUT_MS);
  };

  void (async () => {
    watchdog();
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${ctx.token}` };
    if (ctx.lastAckId) headers['last-event-id'] = ctx.lastAckId;
    const response = await ctx.fetch(`${ctx.url}/api/stream`, { headers, cache: 'no-store', signal: controller.signal });
    if (response.status === 401) return finish('unauthorized');
    if (response.status === 429) {
      const body = (await response.json().catch(() => null)) as { error?: { code?: unknown } } | null;
      if (body?.error?.code !== 'RATE_LIMITED') return finish('failed');
      const seconds = Number(response.headers.get('retry-after'));
      return finish('rate_limited', Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined);
    }
    if (!response.ok || !response.body) return finish('failed');
    opened = true;
    ctx.onOpen('sse');
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended || done) break;
      watchdog();
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        if (done) return;
        if (event.event === 'notification') ctx.onNotification(JSON.parse(event.data) as Notification);
        else if (event.event === 'synced') ctx.onSynced(JSON.parse(event.data) as { replayed: number; recovered: boolean });
        else if (event.event === 'read') ctx.onRead(JSON.parse(event.data) as ReadInfo);
        // The socket's event names are accepted too, whichever the stream uses for these.
        else if (event.event === 'seen' || event.event === 'notification:seen') ctx.onSeen(JSON.parse(event.data) as SeenInfo);
        else if (event.event === 'archived' || event.event === 'notification:archived') ctx.onArchived(JSON.parse(event.data) as ArchivedInfo);
        else if (event.event === 'error' && (JSON.parse(event.data) as { code?: unknown }).code === 'TOKEN_EXPIRED') {
          return finish('unauthorized');
        }
      }
    }
    finish('dropped');
  })().catch(() => finish(opened ? 'dropped' : 'failed'));

  return {
    close() {
      done = true;
      clearTimeout(idle);
      controller.abort();
    },
  };
}
