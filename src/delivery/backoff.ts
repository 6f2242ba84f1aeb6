/**
 * When a failed delivery is tried again.
 *
 * Exponential with a cap, jittered over the upper half of the step ("equal jitter"):
 * attempt n waits between step/2 and step, step = min(cap, base · 2^(n-1)). Full jitter
 * (0…step) spreads retries a little more, but can retry a 503 at once and makes the gaps
 * between attempts shrink as often as grow; with the upper half, a gap is never shorter
 * than half the one before, and many failing deliveries still spread over the window.
 * A receiver's `Retry-After` (or WeCom's 45009 wait) is a floor, never shortened.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export function retryDelayMs(attempt: number, options: BackoffOptions, retryAfterMs = 0, random = Math.random): number {
  const step = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.round(Math.max(jittered, retryAfterMs));
}
