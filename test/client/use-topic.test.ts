/**
 * useTopic in real Chromium against a real gateway: a mounted component holds the topic
 * (the gateway counts it), shows a topic message and the presence count it watches, and
 * unmounting lets the topic go (the gateway's count drops). Two components holding the
 * same topic keep it until the last one unmounts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { API_KEY, postNotify, signToken, uniqueUser } from '../support/harness.js';
import { until } from '../support/until.js';
import { useBrowserBed } from './browser-bed.js';

const bed = useBrowserBed();
const ROOT = join(import.meta.dirname, '..', '..');

/** A page mounting `count` components that each call useTopic(client, topic, { presence: true }). */
const PAGE = `
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { createNotificationClient } from './src/client/index.ts';
import { useTopic } from './src/client/react.ts';

function Probe({ client, topic, n }) {
  const { latest, presence, access } = useTopic(client, topic, { presence: true });
  return h('div', {
    'data-testid': 'probe-' + n,
    'data-title': latest ? latest.title : '',
    'data-connections': presence ? String(presence.connections) : '',
    'data-granted': access ? access.granted.join(',') : '',
  });
}

window.mountProbes = ({ url, token, topic, count }) => {
  const client = createNotificationClient({ url, token, transports: ['websocket'], storage: null });
  const roots = Array.from({ length: count }, (_, n) => {
    const el = document.createElement('div');
    document.body.append(el);
    const root = createRoot(el);
    root.render(h(Probe, { client, topic, n }));
    return root;
  });
  window.unmountProbe = (n) => roots[n].unmount();
};
`;

async function pageScript(): Promise<string> {
  const result = await build({
    stdin: { contents: PAGE, resolveDir: ROOT, loader: 'jsx', sourcefile: 'use-topic-page.jsx' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logOverride: { 'module-level-directive': 'silent' },
  });
  return result.outputFiles[0]!.text;
}

/** The app's own page, on a loopback origin of its own (the gateway is another origin). */
async function serveApp(script: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><body><script type="module" src="/app.js"></script></body>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function topicCount(topic: string): Promise<number> {
  const res = await fetch(`${bed().gw.url}/api/presence/topics/${topic}`, { headers: { 'x-api-key': API_KEY } });
  return ((await res.json()) as { connections: number }).connections;
}

const attr = (page: Page, n: number, name: string) => page.locator(`[data-testid="probe-${n}"]`).getAttribute(`data-${name}`);

async function waitForAttr(page: Page, n: number, name: string, value: string): Promise<void> {
  await page.waitForFunction(([sel, key, want]) => document.querySelector(sel)?.getAttribute(key) === want, [`[data-testid="probe-${n}"]`, `data-${name}`, value] as const, {
    timeout: 10_000,
  });
}

describe('useTopic', () => {
  it('holds the topic while mounted, shows its messages and presence, and lets it go on unmount', async () => {
    const topic = `feed:${uniqueUser('t')}`;
    const page = await (await bed().newContext()).newPage();
    const app = await serveApp(await pageScript());
    onTestFinished(() => void app.close());
    await page.goto(app.url);
    await page.waitForFunction(() => typeof (window as unknown as { mountProbes?: unknown }).mountProbes === 'function');
    const token = signToken({ sub: uniqueUser(), topics: ['feed:*'] });
    await page.evaluate((args) => (window as unknown as { mountProbes(a: unknown): void }).mountProbes(args), { url: bed().gw.url, token, topic, count: 2 });

    await waitForAttr(page, 0, 'granted', topic);
    await waitForAttr(page, 1, 'granted', topic);
    await until(async () => (await topicCount(topic)) === 1, 'the gateway counting the topic', 10_000);
    await waitForAttr(page, 0, 'connections', '1');

    const sent = await postNotify(bed().gw.url, 'feed:item', { topics: [topic], title: 'hello topic' });
    expect(sent.status).toBe(201);
    await waitForAttr(page, 0, 'title', 'hello topic');
    expect(await attr(page, 1, 'title')).toBe('hello topic');

    // One of two holders unmounts: the topic stays held.
    await page.evaluate(() => (window as unknown as { unmountProbe(n: number): void }).unmountProbe(1));
    const still = await postNotify(bed().gw.url, 'feed:item', { topics: [topic], title: 'still here' });
    expect(still.status).toBe(201);
    await waitForAttr(page, 0, 'title', 'still here');
    expect(await topicCount(topic)).toBe(1);

    // The last holder unmounts: the gateway lets the topic go.
    await page.evaluate(() => (window as unknown as { unmountProbe(n: number): void }).unmountProbe(0));
    await until(async () => (await topicCount(topic)) === 0, 'the count dropping after unmount', 10_000);
  });
});
