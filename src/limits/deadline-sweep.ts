/**
 * Deadlines for many items (every live socket and SSE stream) on one timer: a wheel of
 * one-second buckets. `set` files an item under the second its deadline falls in (moving
 * it when the deadline changes), and a tick once a second expires the buckets that are
 * due. Cost: O(1) per set/delete, O(items due) per tick; 100k connections hold 100k map
 * entries, not 100k timers. An item expires within about a second after its deadline.
 */
export class DeadlineSweep<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly bucketOf = new Map<T, number>();
  /** Every bucket up to this second has been expired. */
  private swept: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onExpired: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.swept = Math.floor(this.now() / 1000);
  }

  get size(): number {
    return this.bucketOf.size;
  }

  /** Ticks once a second from now on (the timer does not keep the process alive). */
  start(tickMs = 1000): this {
    this.timer ??= setInterval(() => this.sweep(), tickMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Expires `item` at `deadlineMs` (epoch ms); null: no deadline (any earlier one is dropped). */
  set(item: T, deadlineMs: number | null): void {
    this.delete(item);
    if (deadlineMs === null) return;
    // Due at the first tick of a second ≥ the deadline; a deadline already swept past goes
    // to the next tick.
    const second = Math.max(Math.ceil(deadlineMs / 1000), this.swept + 1);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = new Set()));
    bucket.add(item);
    this.bucketOf.set(item, second);
  }

  delete(item: T): void {
    const second = this.bucketOf.get(item);
    if (second === undefined) return;
    this.bucketOf.delete(item);
    const bucket = this.buckets.get(second);
    bucket?.delete(item);
    if (bucket?.size === 0) this.buckets.delete(second);
  }

  /** Expires everything due by now (the timer calls it; tests may too). */
  sweep(): void {
    const current = Math.floor(this.now() / 1000);
    while (this.swept < current) {
      this.swept += 1;
      const bucket = this.buckets.get(this.swept);
      if (!bucket) continue;
      this.buckets.delete(this.swept);
      for (const item of bucket) {
        // Deleted or moved by an earlier callback of this sweep: not due any more.
        if (this.bucketOf.get(item) !== this.swept) continue;
        this.bucketOf.delete(item);
        try {
          this.onExpired(item);
        } catch {
          // One failing close must not keep the others open.
        }
      }
    }
  }
}
