/** Timing helpers of the Redis fan-outs: many calls → one action. */

/** Runs `fn` once calls have stopped for `ms` (the last call wins). */
export function debounced(fn: () => void, ms: number): (() => void) & { cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  const call = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
  return Object.assign(call, { cancel: () => timer && clearTimeout(timer) });
}

/** Many calls in one tick → one `send` per event name. */
export function coalesced(send: (event: string) => void): (event: string) => void {
  const pending = new Set<string>();
  return (event) => {
    if (pending.has(event)) return;
    pending.add(event);
    setImmediate(() => {
      pending.delete(event);
      send(event);
    });
  };
}

/** Resolves when `promise` settles (either way) or after `ms`, whichever comes first. */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}
