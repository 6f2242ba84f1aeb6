/**
 * What one client may send over its socket: a token bucket of `burst` events refilled at
 * `perSecond`, in process memory (a socket lives on one instance, nothing to share).
 *
 * - Within the bucket: `pass`.
 * - Past it: `drop` (the event is not handled; the caller answers RATE_LIMITED).
 * - Persistent abuse: `flood` (the caller disconnects) — more than FLOOD_FACTOR × perSecond
 *   events received within one second, or events dropped in each of FLOOD_SECONDS
 *   consecutive seconds. A client that overshoots once and then slows down is never cut.
 */
export const FLOOD_FACTOR = 10;
export const FLOOD_SECONDS = 5;

export type EventVerdict = 'pass' | 'drop' | 'flood';

export class EventBudget {
  private tokens: number;
  private refilledAt: number;
  private second = -1;
  private receivedThisSecond = 0;
  private lastDropSecond = Number.NEGATIVE_INFINITY;
  private droppingSeconds = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.refilledAt = now;
  }

  /**
   * Charges one event received at `now` (ms). `firstDropThisSecond` tells the caller to
   * answer this drop (one RATE_LIMITED per second, not one per dropped event).
   */
  take(now: number): { verdict: EventVerdict; firstDropThisSecond: boolean } {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.receivedThisSecond = 0;
    }
    this.receivedThisSecond += 1;
    if (this.receivedThisSecond > FLOOD_FACTOR * this.perSecond) return { verdict: 'flood', firstDropThisSecond: false };
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { verdict: 'pass', firstDropThisSecond: false };
    }
    const first = this.lastDropSecond !== second;
    if (first) {
      this.droppingSeconds = this.lastDropSecond === second - 1 ? this.droppingSeconds + 1 : 1;
      this.lastDropSecond = second;
    }
    if (this.droppingSeconds >= FLOOD_SECONDS) return { verdict: 'flood', firstDropThisSecond: false };
    return { verdict: 'drop', firstDropThisSecond: first };
  }

  /** Milliseconds until the next event would pass. */
  retryAfterMs(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
