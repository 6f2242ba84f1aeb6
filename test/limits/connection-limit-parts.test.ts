/**
 * The parts of the connection limits, in memory: the event budget (token bucket, drops,
 * flood), the deadline wheel, the client address and its limit subject, and slots
 * counted per instance (no Redis).
 */
import { describe, expect, it } from 'vitest';
import { addressSubject, clientAddressResolver } from '../../src/limits/client-address.js';
import { ConnectionSlots } from '../../src/limits/connection-slots.js';
import { DeadlineSweep } from '../../src/limits/deadline-sweep.js';
import { EventBudget, FLOOD_FACTOR, FLOOD_SECONDS } from '../../src/limits/event-budget.js';
import type { LimitStore } from '../../src/limits/window-limits.js';

describe('EventBudget', () => {
  const T0 = 1_000_000_000_000; // on a second boundary

  it('passes a burst, then the refill rate; drops the rest with one answer per second', () => {
    const budget = new EventBudget(5, 10, T0);
    const verdicts = Array.from({ length: 12 }, () => budget.take(T0 + 100));
    expect(verdicts.slice(0, 10).every((v) => v.verdict === 'pass')).toBe(true);
    expect(verdicts.slice(10)).toEqual([
      { verdict: 'drop', firstDropThisSecond: true },
      { verdict: 'drop', firstDropThisSecond: false },
    ]);
    expect(budget.retryAfterMs()).toBe(200);
    // 5 per second: one more every 200 ms.
    expect(budget.take(T0 + 300).verdict).toBe('pass');
    expect(budget.take(T0 + 300).verdict).toBe('drop');
  });

  it(`cuts more than ${FLOOD_FACTOR}× the rate within one second`, () => {
    const budget = new EventBudget(5, 10, T0);
    const verdicts = Array.from({ length: 5 * FLOOD_FACTOR + 1 }, () => budget.take(T0 + 10).verdict);
    expect(verdicts.at(-2)).toBe('drop');
    expect(verdicts.at(-1)).toBe('flood');
  });

  it(`cuts drops in ${FLOOD_SECONDS} consecutive seconds, not a client that slows down in between`, () => {
    const overEachSecond = (budget: EventBudget, seconds: number[]) =>
      seconds.map((s) => Array.from({ length: 12 }, () => budget.take(T0 + s * 1000 + 500).verdict).at(-1));
    const persistent = new EventBudget(5, 10, T0);
    expect(overEachSecond(persistent, [0, 1, 2, 3, 4])).toEqual(['drop', 'drop', 'drop', 'drop', 'flood']);
    const recovering = new EventBudget(5, 10, T0);
    // Second 3 is skipped: the streak starts again.
    expect(overEachSecond(recovering, [0, 1, 2, 4, 5, 6, 7])).toEqual(['drop', 'drop', 'drop', 'drop', 'drop', 'drop', 'drop']);
  });
});

describe('DeadlineSweep', () => {
  it('expires items once their deadline has passed, on one timer, and forgets deleted or moved ones', () => {
    let now = 10_000;
    const expired: string[] = [];
    const sweep = new DeadlineSweep<string>((item) => expired.push(item), () => now);
    sweep.set('a', 11_500);
    sweep.set('b', 12_000);
    sweep.set('c', 11_200);
    sweep.set('gone', 11_000);
    sweep.delete('gone');
    sweep.set('moved', 11_100);
    sweep.set('moved', 20_000);
    sweep.set('never', null);
    expect(sweep.size).toBe(4);

    now = 11_999;
    sweep.sweep();
    expect(expired).toEqual([]);
    now = 12_000;
    sweep.sweep();
    expect(expired.sort()).toEqual(['a', 'b', 'c']);
    now = 19_999;
    sweep.sweep();
    expect(expired).toHaveLength(3);
    now = 25_000;
    sweep.sweep();
    expect(expired.at(-1)).toBe('moved');
    expect(sweep.size).toBe(0);
  });

  it('expires a deadline already in the past at the next tick; a callback may remove others due in the same second', () => {
    let now = 50_000;
    const expired: string[] = [];
    const sweep: DeadlineSweep<string> = new DeadlineSweep<string>((item) => {
      expired.push(item);
      if (item === 'x') sweep.delete('y');
    }, () => now);
    sweep.set('x', 52_000);
    sweep.set('y', 52_000);
    now = 53_000;
    sweep.sweep();
    expect(expired).toEqual(['x']);
    sweep.set('late', 40_000);
    sweep.sweep();
    expect(expired).toEqual(['x']);
    now = 54_000;
    sweep.sweep();
    expect(expired).toEqual(['x', 'late']);
  });
});

describe('client address', () => {
  const request = (remoteAddress: string, forwardedFor?: string) =>
    ({ headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}, socket: { remoteAddress } }) as never;

  it('is the peer address without TRUST_PROXY, and the forwarded client behind a trusted proxy (as req.ip)', () => {
    expect(clientAddressResolver(undefined)(request('127.0.0.1', '198.51.100.7'))).toBe('127.0.0.1');
    const behindLoopback = clientAddressResolver('loopback');
    expect(behindLoopback(request('127.0.0.1', '198.51.100.7'))).toBe('198.51.100.7');
    // Only trusted hops are skipped: a client cannot pick its address by prepending one.
    expect(behindLoopback(request('127.0.0.1', '10.9.9.9, 198.51.100.7'))).toBe('198.51.100.7');
    expect(behindLoopback(request('192.0.2.1', '198.51.100.7'))).toBe('192.0.2.1');
    // Two trusted hops: nginx on loopback behind a load balancer in 10/8.
    expect(clientAddressResolver('loopback, 10.0.0.0/8')(request('127.0.0.1', '198.51.100.7, 10.1.1.1'))).toBe('198.51.100.7');
  });

  it('counts IPv4 (mapped too) by address and IPv6 by /64', () => {
    expect(addressSubject('198.51.100.7')).toBe('198.51.100.7');
    expect(addressSubject('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressSubject('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressSubject('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressSubject('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressSubject('::1')).toBe('0:0:0:0::/64');
    expect(addressSubject('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('ConnectionSlots without Redis', () => {
  const memory: LimitStore = { redis: null, keyPrefix: 'test', onFallback: () => undefined, close: async () => {} };

  it('admits up to the limit per subject, refuses the next, and frees a slot once per release', async () => {
    const slots = await ConnectionSlots.open([{ name: 'per_user', max: 2 }, { name: 'off', max: 0 }], memory, { instanceId: 'i1' });
    const a = await slots.acquire('per_user', 't:alice');
    const b = await slots.acquire('per_user', 't:alice');
    expect([a.granted, b.granted]).toEqual([true, true]);
    expect(await slots.acquire('per_user', 't:alice')).toEqual({ granted: false, count: 2, max: 2 });
    expect((await slots.acquire('per_user', 't:bob')).granted).toBe(true);
    if (!a.granted) throw new Error('unreachable');
    a.release();
    a.release();
    expect(slots.localCount('per_user', 't:alice')).toBe(1);
    expect((await slots.acquire('per_user', 't:alice')).granted).toBe(true);
    expect((await slots.acquire('per_user', 't:alice')).granted).toBe(false);
    for (let i = 0; i < 5; i++) expect((await slots.acquire('off', 't:alice')).granted).toBe(true);
    await slots.close();
  });
});
