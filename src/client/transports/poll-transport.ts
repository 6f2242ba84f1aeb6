/**
 * Step 4, the last resort: short polling of the REST stream mode
 * (`GET /api/notifications?after=<position>`), which walks the same commit-ordered
 * stream as the socket replay. The position is the client's `lastAckId`; when the
 * client has none yet (or the gateway no longer knows it) it starts from the head the
 * gateway reports, or from `start` when the user's stream was empty.
 * Commit order only: there is no out-of-band copy of urgent notifications here.
 */
import { HttpStatusError } from '../rest-api.js';
import type { Transport, TransportContext } from './transport.js';

const PAGE = 100;

export function pollTransport(ctx: TransportContext): Transport {
  const controller = new AbortController();
  let done = false;
  let opened = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // undefined: ask for the head first (like a socket connecting without lastAckId).
  let position: string | undefined = ctx.lastAckId ?? undefined;
  let synced = false;
  let replayed = 0;

  const finish = (reason: 'unauthorized' | 'failed' | 'dropped') => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    controller.abort();
    ctx.onClose(reason);
  };

  const poll = async (): Promise<void> => {
    try {
      const slice = await ctx.api.streamAfter(position ?? '', PAGE, controller.signal);
      if (done) return;
      if (!opened) {
        opened = true;
        ctx.onOpen('rest-polling');
      }
      for (const notification of slice.items) {
        if (done) return;
        ctx.onNotification(notification);
      }
      position = slice.lastId ?? 'start';
      replayed += slice.items.length;
      // Synced once the backlog is drained; again whenever the position was lost.
      if (!slice.recovered || (!synced && slice.items.length < PAGE)) {
        ctx.onSynced({ replayed: slice.recovered ? replayed : 0, recovered: slice.recovered });
        synced = true;
      }
      // A full page means more is waiting: fetch it now rather than after the interval.
      timer = setTimeout(() => void poll(), slice.items.length >= PAGE ? 0 : ctx.pollIntervalMs);
    } catch (error) {
      if (done) return;
      finish(error instanceof HttpStatusError && error.status === 401 ? 'unauthorized' : opened ? 'dropped' : 'failed');
    }
  };
  void poll();

  return {
    close() {
      done = true;
      clearTimeout(timer);
      controller.abort();
    },
    // Every poll takes the token source's current token: a fresh one is used from the next poll.
    renewToken: () => Promise.resolve(true),
  };
}
