/**
 * CORS_ORIGINS over real HTTP: preflight and actual requests from a listed origin get
 * that exact origin back with credentials, on REST, SSE and the Socket.IO polling
 * handshake; any other origin (look-alikes included) gets no CORS header at all while
 * the request itself goes on; without CORS_ORIGINS there are no CORS headers anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, createTestBed, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { SseSession } from './sse-session.js';

const APP = 'https://app.example.com';
const DEV = 'http://localhost:5173';
const REFUSED = [
  'https://evil.example.net',
  'http://app.example.com',
  'https://app.example.com:8443',
  'https://app.example.com.evil.test',
  'https://sub.app.example.com',
  'null',
];
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
];

let bed: TestBed;
let gw: RunningGateway;
let sameOrigin: RunningGateway;
beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({ CORS_ORIGINS: `${APP},${DEV}` });
  sameOrigin = await bed.start();
});
afterAll(async () => {
  await bed.stopAll();
});

const vary = (res: Response) => (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
const corsHeadersOf = (res: Response) => CORS_HEADERS.filter((h) => res.headers.has(h));

function preflight(base: string, path: string, origin: string, method = 'POST', headers = 'content-type, x-api-key, idempotency-key') {
  return fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

function notify(base: string, origin: string) {
  return fetch(`${base}/api/notify/task:done`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ userId: uniqueUser(), title: 'cors' }),
  });
}

function expectAllowed(res: Response, origin: string) {
  expect(res.headers.get('access-control-allow-origin')).toBe(origin);
  expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  expect(vary(res)).toContain('origin');
}

describe('REST', () => {
  it.each([APP, DEV])('answers the preflight of %s with that origin, methods and headers', async (origin) => {
    const res = await preflight(gw.url, '/api/notify/task:done', origin);
    expect(res.status).toBe(204);
    expectAllowed(res, origin);
    const methods = res.headers.get('access-control-allow-methods')!.split(', ');
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']));
    const headers = res.headers.get('access-control-allow-headers')!.toLowerCase().split(', ');
    expect(headers).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-api-key', 'idempotency-key', 'last-event-id']));
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('answers an actual request of a listed origin with that origin and the readable headers', async () => {
    const res = await notify(gw.url, APP);
    expect(res.status).toBe(201);
    expectAllowed(res, APP);
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
    // Errors carry it too, so a page can read them.
    const refused = await fetch(`${gw.url}/api/notifications`, { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expectAllowed(refused, APP);
  });

  it.each(REFUSED)('never reflects %s: no CORS header on the preflight or the request, which still proceeds', async (origin) => {
    const pre = await preflight(gw.url, '/api/notify/task:done', origin);
    await pre.arrayBuffer();
    expect(pre.status).not.toBe(204);
    expect(corsHeadersOf(pre)).toEqual([]);
    expect(vary(pre)).toContain('origin');

    const res = await notify(gw.url, origin);
    expect(res.status).toBe(201);
    expect(corsHeadersOf(res)).toEqual([]);
    expect(vary(res)).toContain('origin');
  });

  it('a request without Origin (same-origin or not a browser) gets Vary: Origin but no CORS header', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(corsHeadersOf(res)).toEqual([]);
    expect(vary(res)).toContain('origin');
  });
});

describe('SSE /api/stream', () => {
  it('answers the preflight of a fetch-based stream (Authorization, Last-Event-ID)', async () => {
    const res = await preflight(gw.url, '/api/stream', APP, 'GET', 'authorization, last-event-id');
    expect(res.status).toBe(204);
    expectAllowed(res, APP);
  });

  it('opens for a listed origin with that origin and credentials', async () => {
    const session = await SseSession.open(`${gw.url}/api/stream?token=${userToken(uniqueUser())}`, { origin: APP });
    try {
      expect(session.response.status).toBe(200);
      expect(session.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expectAllowed(session.response, APP);
    } finally {
      session.close();
    }
  });

  it('opens without any CORS header for an unlisted origin', async () => {
    const session = await SseSession.open(`${gw.url}/api/stream?token=${userToken(uniqueUser())}`, { origin: REFUSED[0]! });
    try {
      expect(session.response.status).toBe(200);
      expect(corsHeadersOf(session.response)).toEqual([]);
    } finally {
      session.close();
    }
  });
});

describe('Socket.IO polling handshake', () => {
  const handshake = (base: string, origin: string) => fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });

  it('answers a listed origin with that origin and credentials', async () => {
    const res = await handshake(gw.url, DEV);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^0\{"sid":/);
    expectAllowed(res, DEV);
  });

  it('answers its preflight for a listed origin', async () => {
    const res = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expectAllowed(res, APP);
  });

  // Socket.IO's cors option (the `cors` package) sends Access-Control-Allow-Credentials
  // whatever the origin; without Access-Control-Allow-Origin it grants nothing.
  it.each(REFUSED)('does not reflect %s, on the handshake or its preflight', async (origin) => {
    const res = await handshake(gw.url, origin);
    expect(await res.text()).toMatch(/^0\{"sid":/);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(vary(res)).toContain('origin');
    const pre = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    await pre.arrayBuffer();
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('without CORS_ORIGINS (same-origin only)', () => {
  it('sends no CORS header on preflights, REST, SSE or the Socket.IO handshake', async () => {
    const pre = await preflight(sameOrigin.url, '/api/notify/task:done', APP);
    await pre.arrayBuffer();
    expect(pre.status).not.toBe(204);
    expect(corsHeadersOf(pre)).toEqual([]);

    const res = await notify(sameOrigin.url, APP);
    expect(res.status).toBe(201);
    expect(corsHeadersOf(res)).toEqual([]);
    expect(vary(res)).not.toContain('origin');

    const session = await SseSession.open(`${sameOrigin.url}/api/stream?token=${userToken(uniqueUser())}`, { origin: APP });
    try {
      expect(session.response.status).toBe(200);
      expect(corsHeadersOf(session.response)).toEqual([]);
    } finally {
      session.close();
    }

    const polling = await fetch(`${sameOrigin.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: APP } });
    expect(await polling.text()).toMatch(/^0\{"sid":/);
    expect(corsHeadersOf(polling)).toEqual([]);
  });
});
