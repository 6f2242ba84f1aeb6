#!/usr/bin/env node
/**
 * Builds this example with `next build`, runs it with `next start` in front of a real
 * gateway (the repository's build, on an SQLite file in a temporary folder), and clicks
 * through it in headless Chromium: the bell goes live, opens, and a notification posted
 * to the gateway appears in the list (a high one also as a toast); marking it read
 * brings the unread tab's count down.
 *
 *   npm run build                       # in the repository root: dist/src and dist/client
 *   cd examples/nextjs-app-router && npm ci && node e2e/click-through.mjs
 *
 * Ports are free ones picked at start; everything it started is stopped at the end.
 * Prints "N passed, N failed" and exits non-zero on a failure.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(app, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const children = [];
const steps = [];

for (const built of ['dist/src/main.js', 'dist/client/react.js', 'dist/client/types/react.d.ts']) {
  if (!existsSync(join(repo, built))) throw new Error(`${built} is missing: run \`npm run build\` in the repository root first`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(name, command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => (output = (output + chunk).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const handle = { name, child, exited, output: () => output };
  children.push(handle);
  return handle;
}

async function waitForHttp(url, handle, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void handle.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${handle.name} exited:\n${handle.output()}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${handle.name} did not answer ${url} within ${timeoutMs} ms:\n${handle.output()}`);
}

async function run(command, args, options) {
  const handle = start(args.join(' '), command, args, options);
  const { code } = await handle.exited;
  if (code !== 0) throw new Error(`${handle.name} failed (${code}):\n${handle.output()}`);
}

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    steps.push({ name, ok: true });
    console.log(`✓ ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    steps.push({ name, ok: false });
    console.log(`✗ ${name}\n${error?.stack ?? error}`);
    throw error;
  }
}

const data = mkdtempSync(join(tmpdir(), 'notify-next-example-'));
const secret = randomBytes(32).toString('hex');
const apiKey = randomBytes(16).toString('hex');
const user = `next-${randomBytes(4).toString('hex')}`;
let browser;

try {
  const [gatewayPort, appPort] = [await freePort(), await freePort()];
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

  await step('gateway starts', async () => {
    const gateway = start('gateway', process.execPath, [join(repo, 'dist/src/main.js')], {
      cwd: repo,
      env: {
        ...env,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        DATABASE_URL: `sqlite:${join(data, 'notify.db')}`,
        JWT_SECRET: secret,
        NOTIFY_API_KEYS: apiKey,
        LOG_LEVEL: 'warn',
      },
    });
    await waitForHttp(`${gatewayUrl}/readyz`, gateway);
  });

  await step('next build', () => run(join(app, 'node_modules/.bin/next'), ['build'], { cwd: app, env: { ...env, NOTIFY_GATEWAY_URL: gatewayUrl } }));

  await step('next start', async () => {
    const next = start('next start', join(app, 'node_modules/.bin/next'), ['start', '-H', '127.0.0.1', '-p', String(appPort)], {
      cwd: app,
      env: { ...env, NOTIFY_JWT_SECRET: secret, NOTIFY_DEMO_USER: user },
    });
    await waitForHttp(appUrl, next);
  });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const notify = async (title, priority) => {
    const response = await fetch(`${gatewayUrl}/api/notify/example:event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ userId: user, title, priority }),
    });
    if (response.status !== 201) throw new Error(`notify answered ${response.status}: ${await response.text()}`);
    return (await response.json()).id;
  };

  await step('the page renders the bell, server-side, and it goes live', async () => {
    const response = await page.goto(appUrl);
    if (!(await response.text()).includes('data-testid="notify-bell"')) throw new Error('the server-rendered HTML has no bell');
    await page.locator('[data-testid="notification-center"][data-state="live"]').waitFor({ timeout: 20_000 });
  });

  await step('the bell opens its popover', async () => {
    await page.locator('[data-testid="notify-bell"]').click();
    await page.locator('[data-testid="notify-popover"]').waitFor();
  });

  await step('a posted notification appears in the list, a high one also as a toast', async () => {
    const id = await notify('Deploy finished', 'medium');
    await page.locator(`[data-testid="notification"][data-id="${id}"]`).waitFor({ timeout: 10_000 });
    const urgent = await notify('Checkout errors above 5 %', 'high');
    await page.locator(`[data-testid="toast"][data-id="${urgent}"]`).waitFor({ timeout: 10_000 });
    await page.locator(`[data-testid="notification"][data-id="${urgent}"] [data-testid="mark-read"]`).click();
    await page.locator('[data-testid="tab-unread-count"]:text-is("1")').waitFor({ timeout: 10_000 });
  });
} catch {
  process.exitCode = 1;
} finally {
  await browser?.close();
  for (const handle of children) if (handle.child.exitCode === null) handle.child.kill('SIGTERM');
  await Promise.all(children.map((h) => h.exited));
  rmSync(data, { recursive: true, force: true });
  const passed = steps.filter((s) => s.ok).length;
  console.log(`${passed} passed, ${steps.length - passed} failed`);
  if (steps.length - passed > 0) process.exitCode = 1;
}
