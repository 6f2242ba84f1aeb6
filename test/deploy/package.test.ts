/**
 * The published package: packed (prepack builds dist/) and installed from the tarball
 * into an empty folder, then used only from there — the root export starts a gateway on
 * SQLite that takes and lists a notification, `attachNotifyGateway` mounts one on a host
 * Express app, the `notify-gateway` command prints its help and starts the embedded
 * default as `npm start` does, and the browser SDK and React bindings resolve with their
 * types.
 *
 * Slow by nature: the install fetches the dependencies and runs better-sqlite3's install
 * script, which compiles SQLite when no prebuilt binary can be downloaded (about two
 * minutes on two cores); with its prebuilt binary it takes seconds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/config.js';
import { JWT_SECRET, API_KEY, signToken } from '../support/harness.js';
import { EMBED_SCRIPT, TYPES_CHECK, cleanEnv, packAndInstall, typesConfig, type PackedPackage } from './support/packed-package.js';
import { repoPath, run } from './support/repo.js';
import { ATTACH_SCRIPT } from './embedding-script.js';

let work: string;
let pkg: PackedPackage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'notify-package-'));
  pkg = await packAndInstall(work);
  console.log(`package: npm install of the tarball took ${(pkg.installMs / 1000).toFixed(1)} s`);
}, 900_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the build with its types, the command, the license and the ops files; no sources or tests', () => {
    expect(pkg.files).toEqual(
      expect.arrayContaining([
        'package.json', 'README.md', 'LICENSE', 'ecosystem.config.js', 'nginx/notify-gateway.conf', 'prometheus/notify-alerts.yml',
        'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js', 'dist/src/main.js', 'dist/migrations/20261122_001_core.js',
        'dist/client/notify-client.js', 'dist/client/notify-client.js.map', 'dist/client/types/index.d.ts',
        'dist/client/react.js', 'dist/client/types/react.d.ts', 'dist/client/demo.html', 'dist/client/notify-sw.js',
      ]),
    );
    expect(pkg.files.filter((f) => /^(src|test|bench|scripts|migrations|node_modules)\//.test(f))).toEqual([]);
    expect(pkg.files.filter((f) => f.startsWith('dist/src/') && f.endsWith('.map'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(pkg.app, 'node_modules/notify-gateway/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ license: 'MIT', bin: { 'notify-gateway': 'dist/src/cli.js' } });
    expect(manifest.private).toBeUndefined();
    expect(readFileSync(join(pkg.app, 'node_modules/notify-gateway/LICENSE'), 'utf8')).toContain('Copyright (c) 2026 notify-gateway contributors');
  });
});

describe('installed', () => {
  it('starts a gateway from the root export that stores a notification and lists it', async () => {
    writeFileSync(join(pkg.app, 'embed.mjs'), EMBED_SCRIPT);
    const env = cleanEnv({ DB: join(work, 'embedded.db'), SECRET: JWT_SECRET, KEY: API_KEY, TOKEN: signToken({ sub: 'u1', tid: 'default' }) });
    const result = await run(process.execPath, ['embed.mjs'], { cwd: pkg.app, env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0); // close() left nothing running: the process ended by itself
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      port: number;
      posted: { status: number; body: { id: string } };
      listed: { status: number; body: { items: { id: string; title: string; kind: string }[] } };
      refused: { configError: boolean; message: string };
    };
    expect(out.port).toBeGreaterThan(0);
    expect(out.posted.status).toBe(201);
    expect(out.listed.status).toBe(200);
    expect(out.listed.body.items).toEqual([expect.objectContaining({ id: out.posted.body.id, kind: 'build:finished', title: 'Build finished' })]);
    expect(out.refused).toEqual({ configError: true, message: expect.stringContaining('PROT') });
  });

  it('attaches the gateway to a host Express app with attachNotifyGateway, and close() leaves the host serving', async () => {
    writeFileSync(join(pkg.app, 'attach.mjs'), ATTACH_SCRIPT);
    const env = cleanEnv({ DB: join(work, 'attached.db'), SECRET: JWT_SECRET, KEY: API_KEY, TOKEN: signToken({ sub: 'u1', tid: 'default' }) });
    const result = await run(process.execPath, ['attach.mjs'], { cwd: pkg.app, env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0); // the process ended by itself: nothing left running
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      posted: { status: number; body: { id: string } };
      listed: { status: number; body: { items: { id: string }[] } };
      hostAfterClose: number;
    };
    expect(out.posted.status).toBe(201);
    expect(out.listed.body.items.map((item) => item.id)).toEqual([out.posted.body.id]);
    expect(out.hostAfterClose).toBe(200);
  });

  it('runs `npx notify-gateway --help`', async () => {
    const result = await run('npx', ['--no-install', 'notify-gateway', '--help'], { cwd: pkg.app, env: cleanEnv(), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: notify-gateway/);
    for (const key of CONFIG_KEYS) expect(result.stdout).toContain(key);
  });

  it('starts the embedded default with the command, as `npm start` does, and drains on SIGTERM', async () => {
    const command = join(pkg.app, 'node_modules', '.bin', 'notify-gateway');
    const child = spawn(command, [], { cwd: pkg.app, env: cleanEnv({ PORT: '0', HOST: '127.0.0.1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Ready once it logged where it listens and printed the banner that ends with the curl line.
      const port = await new Promise<number>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += String(chunk);
          const listening = output.match(/"port":(\d+)[^\n]*"msg":"notify gateway listening"/);
          if (listening && output.includes(`"title":"Build finished"}'`)) resolve(Number(listening[1]));
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
      });
      const base = `http://127.0.0.1:${port}`;
      expect(output).toContain('Development credentials');
      const { apiKey } = JSON.parse(readFileSync(join(pkg.app, 'data', 'dev-credentials.json'), 'utf8')) as { apiKey: string };
      expect(output).toContain(apiKey);
      expect(statSync(join(pkg.app, 'data', 'notify.db')).size).toBeGreaterThan(0);
      const posted = await fetch(`${base}/api/notify/task:completed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify({ userId: 'demo-user', title: 'Build finished' }),
      });
      expect(posted.status).toBe(201);
      // The SDK and the demo come from the package's own dist/client.
      expect((await fetch(`${base}/sdk/notify-client.js`)).status).toBe(200);
      expect((await fetch(`${base}/demo`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('resolves the browser SDK and the React bindings, with types that check under NodeNext', async () => {
    const specifiers = ['notify-gateway', 'notify-gateway/client', 'notify-gateway/client/react'];
    const resolve = `for (const s of ${JSON.stringify(specifiers)}) console.log(import.meta.resolve(s));`;
    const resolved = await run(process.execPath, ['--input-type=module', '-e', resolve], { cwd: pkg.app, env: cleanEnv() });
    expect(resolved.code, resolved.stderr).toBe(0);
    const installed = join(pkg.app, 'node_modules', 'notify-gateway');
    expect(resolved.stdout.trim().split('\n').map((url) => fileURLToPath(url))).toEqual([
      join(installed, 'dist/src/index.js'),
      join(installed, 'dist/client/notify-client.js'),
      join(installed, 'dist/client/react.js'),
    ]);

    writeFileSync(join(pkg.app, 'check.ts'), TYPES_CHECK);
    writeFileSync(join(pkg.app, 'tsconfig.json'), typesConfig());
    const tsc = await run(repoPath('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: pkg.app, env: cleanEnv(), timeoutMs: 60_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });
});
