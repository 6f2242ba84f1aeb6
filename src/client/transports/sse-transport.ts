/**
 * Step 3: Server-Sent Events from GET /api/stream, read with fetch() instead of
 * EventSource so that the token travels in a header (not the URL), a 401 is visible
 * (to refresh the token), and `Last-Event-ID` is our own cursor on every reconnect.
 * A stream that stays silent past the heartbeat window is treated as dead.
 */
import { SseParser } from '../sse-parser.js';
import type { Notification, ReadInfo } from '../types.js';
import type { Transport, TransportContext } from './transport.js';

/** The gateway sends a heartbeat every 15 s; three missed ones mean the stream is gone. */
const IDLE_TIMEOUT_MS = 45_000;

export function sseTransport(ctx: TransportContext): Transport {
  const controller = new AbortController();
  let done = false;
  let opened = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const finish = (reason: 'unauthorized' | 'failed' | 'dropped') => {
    if (done) return;
    done = true;
    clearTimeout(idle);
    controller.abort();
    ctx.onClose(reason);
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
