/**
 * Security headers on every response, errors and 404s included; the /demo page keeps its
 * own Content-Security-Policy (one header, its own policy); no X-Powered-By; Socket.IO's
 * polling responses are nosniff too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../scripts/build-client.mjs';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, userToken } from '../support/harness.js';
import { SseSession } from './sse-session.js';

const DEMO_CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

beforeAll(async () => {
  // /demo and /sdk/* serve the client build (written atomically: parallel builds are safe).
  await buildClient({ types: false });
});
const suite = useGateway();

function expectSecurityHeaders(headers: Headers) {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('x-powered-by')).toBeNull();
  expect(headers.get('strict-transport-security')).toBeNull();
}

const notify = (body: string, key: string | null = API_KEY) =>
  fetch(`${suite.gw.url}/api/notify/task:done`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    body,
  });

describe('security headers', () => {
  it.each([
    ['200 /healthz', () => fetch(`${suite.gw.url}/healthz`), 200],
    ['201 notify', () => notify(JSON.stringify({ userId: 'u1', title: 't' })), 201],
    ['400 invalid JSON', () => notify('{"title":'), 400],
    ['400 input rule', () => notify('{"userId":"u","title":"t","data":{"__proto__":1}}'), 400],
    ['401 no key', () => notify('{}', null), 401],
    ['404 unknown route', () => fetch(`${suite.gw.url}/no/such/route`), 404],
    ['413 too large', () => notify(JSON.stringify({ userId: 'u', title: 'x'.repeat(70_000) })), 413],
    ['400 bad path encoding', () => fetch(`${suite.gw.url}/api/channels/%E0%A4%A`), 400],
    ['SDK script', () => fetch(`${suite.gw.url}/sdk/notify-client.js`), 200],
    ['metrics', () => fetch(`${suite.gw.url}/metrics`), 200],
  ] as const)('%s', async (_name, request, status) => {
    const res = await request();
    await res.arrayBuffer();
    expect(res.status).toBe(status);
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('on the SSE stream', async () => {
    const session = await SseSession.open(`${suite.gw.url}/api/stream?token=${userToken('sse-user')}`);
    try {
      expect(session.response.status).toBe(200);
      expect(session.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expectSecurityHeaders(session.response.headers);
    } finally {
      session.close();
    }
  });

  it('the demo page keeps its own Content-Security-Policy, alone', async () => {
    const res = await fetch(`${suite.gw.url}/demo?token=${userToken('demo-user')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<script type="module" src="/sdk/demo.js">');
    // One header with the page's policy: Headers.get joins repeated headers with ", ".
    expect(res.headers.get('content-security-policy')).toBe(DEMO_CSP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expectSecurityHeaders(res.headers);
    const script = await fetch(`${suite.gw.url}/sdk/demo.js`);
    await script.arrayBuffer();
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('on Socket.IO polling responses (engine.io answers them, not Express)', async () => {
    const res = await fetch(`${suite.gw.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^0\{"sid":/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});
