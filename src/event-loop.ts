/**
 * Cooperative yielding: long work runs in slices and lets the event loop turn between
 * them, so sockets, streams and other requests (and /healthz) are served meanwhile.
 * SQLite (better-sqlite3) is synchronous, and so is parsing, validating and emitting: a
 * 500 × 1000-recipient batch done in one go held the loop for seconds.
 */

/**
 * Resolves after the event loop has polled for I/O (requests, socket data) at least once.
 * Two hops: an immediate queued from an I/O callback runs before the next poll, in the
 * same turn, so one hop let two writes run back to back with no request served between.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** Longest synchronous stretch a slicer allows before it yields. */
export const SLICE_MS = 10;

/**
 * Tracks how long the current synchronous stretch has run; `pause()` yields once it ran
 * `sliceMs` or more, and is free otherwise.
 *
 *   const slice = new TimeSlice();
 *   for (const item of items) { work(item); await slice.pause(); }
 */
export class TimeSlice {
  private started = performance.now();

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** True once this stretch ran its budget. */
  get due(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  async pause(): Promise<void> {
    if (!this.due) return;
    await yieldToEventLoop();
    this.started = performance.now();
  }
}
