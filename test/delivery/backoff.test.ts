/** Retry delays: exponential, capped, jittered over the upper half, Retry-After as a floor. */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/delivery/backoff.js';

const options = { baseMs: 1000, capMs: 30_000 };

describe('retryDelayMs', () => {
  it('stays between half a step and a step, the step doubling per attempt', () => {
    for (const [attempt, step] of [[1, 1000], [2, 2000], [3, 4000], [5, 16_000]] as const) {
      expect(retryDelayMs(attempt, options, 0, () => 0)).toBe(step / 2);
      expect(retryDelayMs(attempt, options, 0, () => 0.999999)).toBeCloseTo(step, -1);
    }
  });

  it('never waits longer than the cap, however many attempts', () => {
    for (let attempt = 1; attempt < 60; attempt++) expect(retryDelayMs(attempt, options)).toBeLessThanOrEqual(30_000);
  });

  it("never shortens a receiver's Retry-After", () => {
    expect(retryDelayMs(1, options, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(6, options, 100, () => 0.5)).toBe(22_500); // capped step 30 s: 15 s + half of 15 s
  });

  it('a gap is never shorter than half the one before (so retries back off)', () => {
    const lowest = (n: number) => retryDelayMs(n, options, 0, () => 0);
    const highest = (n: number) => retryDelayMs(n, options, 0, () => 0.999999);
    for (let n = 2; n < 6; n++) expect(lowest(n)).toBeGreaterThanOrEqual(highest(n - 1) / 2);
  });
});
