/**
 * ecosystem.config.js: what pm2 reads from it (loaded with require(), as pm2 does), and
 * that the real pm2 runs it — per-instance ports that survive `pm2 reload
 * ecosystem.config.js` (pm2's increment_var does not, see the file's header).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/config.js';
import { API_KEY, JWT_SECRET } from '../support/harness.js';
import { ensureBuilt } from './support/build.js';
import { Pm2 } from './support/pm2.js';
import { freePortRange } from '../support/ports.js';
import { runMigrateService } from './support/compose.js';
import { loadEcosystem, readRepoFile, repoPath } from './support/repo.js';
import { waitUntil } from './support/wait.js';

const shutdownDeadlineMs = Number(readRepoFile('src', 'main.ts').match(/SHUTDOWN_DEADLINE_MS\s*=\s*([\d_]+)/)?.[1]?.replace(/_/g, ''));

describe('ecosystem.config.js as pm2 reads it', () => {
  it('defines 4 fork-mode instances on consecutive ports from 3001, in production', async () => {
    const apps = await loadEcosystem();
    expect(apps.map((a) => a.name)).toEqual(['notify-0', 'notify-1', 'notify-2', 'notify-3']);
    expect(apps.map((a) => a.env.PORT)).toEqual(['3001', '3002', '3003', '3004']);
    for (const app of apps) {
      expect(app).toMatchObject({ namespace: 'notify', script: 'dist/src/main.js', cwd: repoPath(), exec_mode: 'fork', instances: 1 });
      expect(app.env_production.NODE_ENV).toBe('production');
      expect(app.env).toMatchObject({ HOST: '127.0.0.1', TRUST_PROXY: 'loopback' });
      expect(app.max_memory_restart).toMatch(/^\d+M$/);
      expect(app.listen_timeout).toBeGreaterThan(0);
      expect(app.out_file).toBe(repoPath('logs', `${app.name}.out.log`));
      expect(app.error_file).toBe(repoPath('logs', `${app.name}.error.log`));
    }
  });

  it('gives a draining instance more time than the gateway shutdown deadline before SIGKILL', async () => {
    expect(shutdownDeadlineMs).toBeGreaterThan(0);
    for (const app of await loadEcosystem()) expect(app.kill_timeout).toBeGreaterThan(shutdownDeadlineMs);
  });

  it('takes instance count, base port and log dir from the environment', async () => {
    const apps = await loadEcosystem({ NOTIFY_INSTANCES: '2', NOTIFY_BASE_PORT: '40100', NOTIFY_LOG_DIR: 'none' });
    expect(apps.map((a) => [a.name, a.env.PORT])).toEqual([
      ['notify-0', '40100'],
      ['notify-1', '40101'],
    ]);
    expect(apps.every((a) => a.out_file === '/dev/null' && a.error_file === '/dev/null')).toBe(true);
    await expect(loadEcosystem({ NOTIFY_INSTANCES: 'four' })).rejects.toThrow(/NOTIFY_INSTANCES=four must be an integer/);
  });

  it('passes the gateway variables through, and only names the gateway knows', async () => {
    const every = Object.fromEntries(CONFIG_KEYS.map((key) => [key, `value-of-${key}`]));
    const [app] = await loadEcosystem(every);
    // Every setting but the port each instance gets (and NODE_ENV, set by env_production): one left out would be
    // silently dropped on the next `pm2 reload` (SMTP, VAPID, CORS were once).
    const dropped = CONFIG_KEYS.filter((key) => key !== 'PORT' && key !== 'NODE_ENV' && app!.env[key] !== `value-of-${key}`);
    expect(dropped).toEqual([]);
    expect(Object.keys(app!.env).filter((key) => !(CONFIG_KEYS as string[]).includes(key))).toEqual([]);
    const [bare] = await loadEcosystem();
    expect(bare!.env).not.toHaveProperty('DATABASE_URL'); // unset stays unset: the gateway's default applies
  });
});

describe('ecosystem.config.js under the real pm2', () => {
  let pm2: Pm2 | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'notify-eco-'));
  afterAll(async () => {
    await pm2?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts every instance on its port and keeps the ports across reload and a crash', async () => {
    await ensureBuilt();
    const basePort = await freePortRange(2);
    const databaseUrl = `sqlite:${join(dataDir, 'notify.db')}`;
    // Migrated once up front, as docker-compose.yml does, so two processes do not queue
    // for the migration lock of one SQLite file.
    const migrated = await runMigrateService(databaseUrl);
    expect(migrated.code, migrated.stderr).toBe(0);

    pm2 = new Pm2({
      NOTIFY_INSTANCES: '2',
      NOTIFY_BASE_PORT: String(basePort),
      DATABASE_URL: databaseUrl,
      JWT_SECRET,
      NOTIFY_API_KEYS: API_KEY,
      LOG_LEVEL: 'warn',
    });
    const ports = [basePort, basePort + 1];
    const healthy = async () => (await Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/healthz`)))).every((r) => r.ok);

    await pm2.run(['start', repoPath('ecosystem.config.js'), '--env', 'production']);
    await waitUntil(healthy, 'both instances healthy', 20_000);
    expect((await pm2.list()).map((p) => [p.name, p.port, p.status])).toEqual([
      ['notify-0', ports[0], 'online'],
      ['notify-1', ports[1], 'online'],
    ]);

    await pm2.run(['reload', repoPath('ecosystem.config.js'), '--env', 'production']);
    await waitUntil(healthy, 'both instances healthy after reload', 20_000);
    const reloaded = await pm2.list();
    expect(reloaded.map((p) => p.port)).toEqual(ports);
    expect(reloaded.every((p) => p.restarts === 1)).toBe(true);

    // A crash (SIGKILL) is restarted by pm2 on the same port.
    process.kill(reloaded[0]!.pid, 'SIGKILL');
    await waitUntil(async () => (await pm2!.list())[0]!.restarts === 2, 'pm2 to restart the killed instance', 20_000);
    await waitUntil(healthy, 'both instances healthy after the crash', 20_000);
    expect((await pm2.list()).map((p) => p.port)).toEqual(ports);
  }, 240_000); // may have to compile dist/ first
});
