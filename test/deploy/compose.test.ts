/**
 * docker-compose.yml, Dockerfile, .dockerignore. No Docker engine runs here, so the
 * compose file is parsed and checked against the repository: services and images,
 * health checks and start order, mounted paths, ports, and that nginx, Prometheus and
 * the gateway agree on the instance ports of ecosystem.config.js.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/config.js';
import { ensureBuilt } from './support/build.js';
import { OPERATOR_ENV, imageEnv, interpolate, loadCompose, runMigrateService } from './support/compose.js';
import { loadEcosystem, loadYaml, readRepoFile, repoPath, upstreamServers } from './support/repo.js';

const compose = loadCompose();
const services = compose.services;
const service = (name: string) => services[name]!;
const healthcheck = (name: string) => [service(name).healthcheck?.test ?? []].flat().join(' ');
const gatewayEnv = service('gateway').environment!;
const composeEcosystem = () =>
  loadEcosystem({ NOTIFY_INSTANCES: gatewayEnv.NOTIFY_INSTANCES!, NOTIFY_BASE_PORT: gatewayEnv.NOTIFY_BASE_PORT! });

describe('docker-compose.yml', () => {
  it('runs MySQL 8, Redis 7, migrate, gateway, nginx, Prometheus and Grafana on pinned images', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway', 'grafana', 'migrate', 'mysql', 'nginx', 'prometheus', 'redis']);
    expect(service('mysql').image).toMatch(/^mysql:8\.\d+\.\d+$/);
    expect(service('redis').image).toMatch(/^redis:7\.\d+\.\d+$/);
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toMatch(/:[\w.-]*\d+\.\d+[\w.-]*$/); // an exact version, never "latest"
    }
    expect(service('migrate').image).toBe(service('gateway').image);
  });

  it('checks health the way each service can answer', () => {
    expect(healthcheck('mysql')).toContain('mysqladmin ping');
    expect(healthcheck('redis')).toMatch(/redis-cli ping/);
    expect(healthcheck('nginx')).toContain('/healthz');
    expect(healthcheck('prometheus')).toContain('/-/healthy');
    expect(healthcheck('grafana')).toContain('/api/health');
  });

  it('gateway health covers every instance port', async () => {
    for (const app of await composeEcosystem()) expect(healthcheck('gateway')).toContain(app.env.PORT);
    expect(healthcheck('gateway')).toContain('/healthz');
  });

  it('migrates once after MySQL is healthy, before any instance starts; nginx waits for the gateway', () => {
    expect(service('migrate').depends_on).toEqual({ mysql: { condition: 'service_healthy' } });
    expect(service('gateway').depends_on).toEqual({
      migrate: { condition: 'service_completed_successfully' },
      mysql: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(service('nginx').depends_on).toEqual({ gateway: { condition: 'service_healthy' } });
    expect(service('grafana').depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
  });

  it('runs the gateway under pm2-runtime with the ecosystem file, stopping slower than pm2 does', async () => {
    expect(service('gateway').command).toEqual(['pm2-runtime', 'ecosystem.config.js', '--env', 'production']);
    const killTimeoutMs = Math.max(...(await composeEcosystem()).map((a) => a.kill_timeout));
    expect(Number(service('gateway').stop_grace_period?.replace(/s$/, '')) * 1000).toBeGreaterThan(killTimeoutMs);
  });

  it('mounts only paths that exist in the repository', () => {
    const mounts = Object.values(services).flatMap((svc) => (svc.volumes ?? []).filter((v) => v.startsWith('./')));
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const mount of mounts) {
      const [source, target] = mount.split(':');
      expect(existsSync(repoPath(source!)), mount).toBe(true);
      expect(target, mount).toMatch(/^\//);
    }
    const named = Object.values(services).flatMap((svc) => (svc.volumes ?? []).filter((v) => !v.startsWith('./')));
    for (const volume of named) expect(Object.keys(compose.volumes), volume).toContain(volume.split(':')[0]);
    // The mounted directories hold what the services read from them.
    expect(readdirSync(repoPath('prometheus'))).toEqual(expect.arrayContaining(['prometheus.yml', 'notify-alerts.yml']));
    expect(readdirSync(repoPath('grafana', 'provisioning')).sort()).toEqual(['dashboards', 'datasources']);
  });

  it('publishes only nginx to the world; Prometheus and Grafana on loopback; instances not at all', async () => {
    expect(service('nginx').ports).toEqual(['80:80']);
    expect(service('prometheus').ports).toEqual(['127.0.0.1:9090:9090']);
    expect(service('grafana').ports).toEqual(['127.0.0.1:3000:3000']);
    for (const name of ['gateway', 'mysql', 'redis', 'migrate']) expect(service(name).ports, name).toBeUndefined();
    expect(service('gateway').expose).toEqual((await composeEcosystem()).map((a) => a.env.PORT));
  });

  it('routes nginx and Prometheus to the instance ports the ecosystem gives the gateway', async () => {
    const ports = (await composeEcosystem()).map((a) => Number(a.env.PORT));
    const compose = upstreamServers(readRepoFile('nginx', 'upstream-compose.conf'));
    expect(compose).toEqual(ports.map((port) => ({ host: 'gateway', port })));
    const prometheus = loadYaml<{ scrape_configs: { static_configs: { targets: string[] }[] }[] }>('prometheus', 'prometheus.yml');
    expect(prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))).toEqual(
      ports.map((port) => `gateway:${port}`),
    );
    // The single-host upstream is the same block on loopback, for the ecosystem defaults.
    const defaults = (await loadEcosystem()).map((a) => Number(a.env.PORT));
    expect(upstreamServers(readRepoFile('nginx', 'upstream.conf'))).toEqual(defaults.map((port) => ({ host: '127.0.0.1', port })));
    expect(readRepoFile('nginx', 'upstream.conf').replace(/^#.*\n/gm, '').replace(/127\.0\.0\.1:/g, 'gateway:')).toBe(
      readRepoFile('nginx', 'upstream-compose.conf').replace(/^#.*\n/gm, ''),
    );
  });

  it('lets the gateway trust X-Forwarded-For from nginx only', () => {
    const nginxNet = service('nginx').networks as Record<string, { ipv4_address: string }>;
    const [network, { ipv4_address }] = Object.entries(nginxNet)[0]!;
    expect(gatewayEnv.TRUST_PROXY).toBe(ipv4_address);
    const subnet = compose.networks[network]!.ipam.config[0]!.subnet;
    expect(ipv4_address.split('.').slice(0, 3)).toEqual(subnet.split('.').slice(0, 3));
  });

  it('passes only variables the gateway or the ecosystem file read', () => {
    const known = new Set<string>([...CONFIG_KEYS, 'NOTIFY_INSTANCES', 'NOTIFY_BASE_PORT', 'NOTIFY_LOG_DIR']);
    expect(Object.keys(gatewayEnv).filter((key) => !known.has(key))).toEqual([]);
    expect(gatewayEnv.DATABASE_URL).toMatch(/^mysql:\/\/.*@mysql:3306\/notify$/);
    expect(gatewayEnv.REDIS_URL).toBe('redis://redis:6379');
    expect(gatewayEnv.HOST).toBe('0.0.0.0');
  });

  it('interpolates only environment variables (a JavaScript ${…} would be eaten by compose)', () => {
    const text = readRepoFile('docker-compose.yml');
    for (const [, inner] of text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) expect(inner).toMatch(/^[A-Z][A-Z0-9_]*(:?[?-].*)?$/);
  });

  it('gives migrate the config the gateway gets, so its config validation passes in production', () => {
    expect(imageEnv()).toMatchObject({ NODE_ENV: 'production' });
    for (const [key, value] of Object.entries(service('migrate').environment!)) expect(gatewayEnv[key], key).toBe(value);
    expect(interpolate(gatewayEnv.DATABASE_URL!, OPERATOR_ENV)).toBe('mysql://notify:notify-password@mysql:3306/notify');
    expect(() => interpolate(gatewayEnv.JWT_SECRET!, {})).toThrow(/needs JWT_SECRET/);
  });

  it('has a migrate command that applies the migrations (run here against SQLite)', async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'notify-migrate-'));
    try {
      const result = await runMigrateService(`sqlite:${join(dir, 'notify.db')}`);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('migrations applied');
      expect(existsSync(join(dir, 'notify.db'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000); // may have to compile dist/ first
});

describe('Dockerfile', () => {
  const dockerfile = readRepoFile('Dockerfile');
  const ignored = readRepoFile('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('builds on a Node that can require() the ESM ecosystem file, and starts pm2-runtime with it', () => {
    const froms = [...dockerfile.matchAll(/^FROM node:(\d+)\.(\d+)\.(\d+)-/gm)];
    expect(froms.length).toBeGreaterThan(0);
    for (const [, major, minor] of froms) expect(Number(major) > 20 || (Number(major) === 20 && Number(minor) >= 19)).toBe(true);
    expect(dockerfile).toMatch(/^CMD \["pm2-runtime", "ecosystem\.config\.js", "--env", "production"\]$/m);
    expect(dockerfile).toMatch(/npm run build/);
  });

  it('copies only files the build context keeps', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(([, sources]) => sources!.split(/\s+/));
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'migrations', 'ecosystem.config.js']));
    for (const path of copied) {
      expect(existsSync(repoPath(path)), path).toBe(true);
      expect(ignored, path).not.toContain(path);
    }
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
    // Whatever `npm run build` runs from the repo must be in the image's build stage.
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    const buildDirs = [scripts.build, scripts['build:client']].join(' ').match(/\b[\w-]+(?=\/[\w.-]+\.m?js\b)/g) ?? [];
    for (const dir of buildDirs) expect(copied, `${dir}/ is used by npm run build`).toContain(dir);
  });
});
