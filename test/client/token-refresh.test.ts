/**
 * The SDK renews tokens before they expire (connection-manager.ts), in Node with fake
 * timers and fake transports: when (90 % of the lifetime, at most 60 s before `exp`),
 * through the open transport when it can take a token in place, else by reopening the
 * same step with the fresh token; never in a loop on a token that is not later; never
 * without `getToken`. Plus the wait after `rate_limited`.
 */
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionManager, type ManagerOptions } from '../../src/client/connection-manager.js';
import { RestApi, TokenSource } from '../../src/client/rest-api.js';
import { refreshDelayMs, tokenExpiry } from '../../src/client/support.js';
import type { CloseReason, Transport, TransportContext } from '../../src/client/transports/transport.js';

const T0 = Date.UTC(2030, 0, 1) / 1000; // epoch seconds
const token = (iat: number, exp: number | null) =>
  jwt.sign({ sub: 'u1', iat, ...(exp === null ? {} : { exp }) }, 'secret-secret-secret-secret-secret', { algorithm: 'HS256' });

describe('refreshDelayMs', () => {
  it('renews at 90 % of the lifetime, at most 60 s before exp, at once when that has passed', () => {
    const now = T0 * 1000;
    expect(refreshDelayMs(token(T0, T0 + 100), now)).toBe(90_000);
    expect(refreshDelayMs(token(T0, T0 + 3600), now)).toBe(3_540_000);
    expect(refreshDelayMs(token(T0 - 3000, T0 + 600), now)).toBe(540_000);
    expect(refreshDelayMs(token(T0 - 95, T0 + 5), now)).toBe(0);
    expect(refreshDelayMs(token(T0, null), now)).toBeNull();
    expect(refreshDelayMs('not-a-jwt', now)).toBeNull();
    expect(tokenExpiry(token(T0, T0 + 100))).toBe((T0 + 100) * 1000);
  });
});

interface FakeTransport {
  ctx: TransportContext;
  renewed: string[];
  closed: boolean;
}

function harness(options: { getToken?: () => string; renew?: boolean | null; initial?: string }) {
  const opened: FakeTransport[] = [];
  const factory = (ctx: TransportContext): Transport => {
    const fake: FakeTransport = { ctx, renewed: [], closed: false };
    opened.push(fake);
    queueMicrotask(() => ctx.onOpen('websocket'));
    const transport: Transport = {
      close: () => void (fake.closed = true),
    };
    if (options.renew !== null) {
      transport.renewToken = async (fresh) => {
        fake.renewed.push(fresh);
        return options.renew ?? true;
      };
    }
    return transport;
  };
  const getToken = options.getToken ? vi.fn(options.getToken) : undefined;
  const tokens = new TokenSource(options.initial, getToken);
  const states: string[] = [];
  const managerOptions: ManagerOptions = {
    steps: [factory],
    tokens,
    initialDelayMs: 500,
    maxDelayMs: 30_000,
    maxAttempts: Number.POSITIVE_INFINITY,
    failuresBeforeFallback: 2,
    upgradeAfterMs: 60_000,
    context: {
      url: 'http://gateway.test',
      path: '/socket.io',
      api: new RestApi('http://gateway.test', tokens, fetch),
      fetch,
      pollIntervalMs: 5000,
      connectTimeoutMs: 10_000,
    },
    lastAckId: () => null,
    onNotification: () => undefined,
    onSynced: () => undefined,
    onRead: () => undefined,
    onState: (state) => states.push(state),
    onError: () => undefined,
  };
  const manager = new ConnectionManager(managerOptions);
  return { manager, opened, getToken, states };
}

describe('token renewal on an open connection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0 * 1000);
  });
  afterEach(() => vi.useRealTimers());

  it('asks getToken at 90 % of the lifetime and hands the fresh token to the open transport, then again for the fresh one', async () => {
    let issued = 0;
    const { manager, opened, getToken } = harness({ getToken: () => token(T0 + 90 * issued, T0 + 100 + 90 * issued++) });
    manager.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(opened).toHaveLength(1);
    expect(getToken).toHaveBeenCalledTimes(1); // the initial token

    await vi.advanceTimersByTimeAsync(89_000);
    expect(getToken).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(getToken).toHaveBeenLastCalledWith('expired');
    expect(opened[0]!.renewed).toHaveLength(1);
    expect(tokenExpiry(opened[0]!.renewed[0]!)).toBe((T0 + 190) * 1000);
    expect(opened).toHaveLength(1); // renewed in place, not reopened

    await vi.advanceTimersByTimeAsync(90_000);
    expect(opened[0]!.renewed).toHaveLength(2);
    manager.stop();
  });

  it('reopens the same step with the fresh token when the transport cannot take it in place (SSE)', async () => {
    let issued = 0;
    const { manager, opened } = harness({ renew: null, getToken: () => token(T0, T0 + 100 + 100 * issued++) });
    manager.start();
    await vi.advanceTimersByTimeAsync(90_000);
    expect(opened).toHaveLength(2);
    expect(opened[0]!.closed).toBe(true);
    expect(tokenExpiry(opened[1]!.ctx.token)).toBe((T0 + 200) * 1000);
    manager.stop();
  });

  it('reopens when the gateway refuses the renewal', async () => {
    let issued = 0;
    const { manager, opened } = harness({ renew: false, getToken: () => token(T0, T0 + 100 + 100 * issued++) });
    manager.start();
    await vi.advanceTimersByTimeAsync(90_000);
    expect(opened).toHaveLength(2);
    expect(opened[0]!.renewed).toHaveLength(1);
    manager.stop();
  });

  it('does not loop on a getToken that returns no later token, and never renews without getToken', async () => {
    const same = token(T0, T0 + 100);
    const cached = harness({ getToken: () => same });
    cached.manager.start();
    await vi.advanceTimersByTimeAsync(99_000);
    expect(cached.getToken).toHaveBeenCalledTimes(2);
    expect(cached.opened[0]!.renewed).toEqual([]);
    cached.manager.stop();

    const fixed = harness({ initial: token(T0, T0 + 100) });
    fixed.manager.start();
    await vi.advanceTimersByTimeAsync(99_000);
    expect(fixed.opened).toHaveLength(1);
    expect(fixed.opened[0]!.renewed).toEqual([]);
    fixed.manager.stop();
  });

  it('after rate_limited, waits at least retryAfterMs and retries the same step', async () => {
    const { manager, opened, states } = harness({ initial: token(T0, T0 + 3600) });
    manager.start();
    await vi.advanceTimersByTimeAsync(0);
    opened[0]!.ctx.onClose('rate_limited' satisfies CloseReason, 7_000);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(opened).toHaveLength(1);
    expect(states.at(-1)).toBe('offline');
    await vi.advanceTimersByTimeAsync(1);
    expect(opened).toHaveLength(2);
    manager.stop();
  });
});
