/**
 * ExpiringLru: bounded, expiring, and a key read recently is never the one evicted (the
 * recency order is approximate: a hit moves its key only after half the capacity of
 * other keys went in since its last move).
 */
import { describe, expect, it } from 'vitest';
import { ExpiringLru } from '../../src/policy/expiring-lru.js';

describe('ExpiringLru', () => {
  it('keeps at most its bound and evicts the least recently used first', () => {
    const lru = new ExpiringLru<number>(10, 60_000);
    for (let i = 0; i < 25; i++) lru.set(`k${i}`, i);
    expect(lru.size).toBe(10);
    expect(lru.peek('k14')).toBeUndefined();
    expect(lru.peek('k15')).toEqual({ value: 15 });
  });

  it('a key read again after half the capacity went in survives the next insertions', () => {
    const lru = new ExpiringLru<number>(10, 60_000);
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, i);
    // k0 is the oldest; after 9 more keys went in since it, a read moves it to the end.
    expect(lru.get('k0')).toEqual({ value: 0 });
    for (let i = 10; i < 19; i++) lru.set(`k${i}`, i);
    expect(lru.peek('k0')).toEqual({ value: 0 });
    expect(lru.peek('k1')).toBeUndefined();
  });

  it('a key read over and over stays while a stream of others passes through', () => {
    const lru = new ExpiringLru<number>(100, 60_000);
    lru.set('hot', 1);
    for (let i = 0; i < 10_000; i++) {
      lru.set(`cold${i}`, i);
      expect(lru.get('hot')).toEqual({ value: 1 });
    }
    expect(lru.size).toBe(100);
  });

  it('an expired entry is a miss and is dropped', () => {
    let now = 0;
    const lru = new ExpiringLru<string>(10, 1_000, () => now);
    lru.set('a', 'x');
    now = 999;
    expect(lru.get('a')).toEqual({ value: 'x' });
    now = 1_000;
    expect(lru.get('a')).toBeUndefined();
    expect(lru.size).toBe(0);
  });
});
