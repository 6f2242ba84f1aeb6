/**
 * One suite, run per driver: `*.int.test.ts` runs once on SQLite + in-process adapter
 * and once on MySQL/MariaDB + Redis; `*.mysql.test.ts` (several instances, killed
 * connections, outages) only on MySQL + Redis; other tests run once ("unit").
 * Nothing is skipped inside a file: what a machine cannot run is left out here, loudly.
 * In CI (CI=true) everything is included, so unreachable services fail the run.
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const mysqlUrl = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || defaultPort), timeout: 1000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const hasCommand = (name: string) => spawnSync('sh', ['-c', `command -v "${name}"`]).status === 0;

export default defineConfig(async (): Promise<ViteUserConfig> => {
  const servicesUp = (await reachable(mysqlUrl, 3306)) && (await reachable(redisUrl, 6379));
  const ci = process.env.CI === 'true';
  const runMysql = ci || servicesUp;
  if (!runMysql) {
    console.warn(`\n!! MySQL/Redis not reachable (${mysqlUrl}, ${redisUrl}): the mysql+redis run is LEFT OUT.\n`);
  }
  const runCluster = ci || (servicesUp && hasCommand('nginx') && hasCommand('redis-server'));
  if (!runCluster) console.warn('\n!! test/deploy/cluster.test.ts LEFT OUT: needs MySQL, nginx and redis-server.\n');
  const runStartup = ci || (servicesUp && hasCommand('redis-server'));
  if (!runStartup) console.warn('\n!! test/deploy/startup-deps.test.ts LEFT OUT: needs MySQL and redis-server.\n');
  const integration = 'test/**/*.int.test.ts';
  const mysqlOnly = 'test/**/*.mysql.test.ts';
  // Tests that assert latency bounds (healthz ≤ 100 ms during the largest batch) need the
  // box to themselves: beside other test files on two cores they measure the neighbours.
  // TEST_TIMING=skip leaves them to `npm run test:timing` (one file at a time), which CI runs
  // right after; TEST_TIMING=only runs just them. Unset: they run with everything else.
  const timing = ['test/http/event-loop-safety.int.test.ts'];
  const timingMode = process.env.TEST_TIMING;
  if (timingMode === 'skip') console.warn(`\n!! ${timing.join(', ')} deferred to \`npm run test:timing\` (TEST_TIMING=skip).\n`);
  const deferred = timingMode === 'skip' ? timing : [];
  const only = timingMode === 'only';
  return {
    test: {
      testTimeout: 30_000,
      hookTimeout: 60_000,
      projects: [
        ...(only ? [] : [{
          extends: true as const,
          test: {
            name: 'unit',
            include: ['test/**/*.test.ts'],
            exclude: [
              integration,
              mysqlOnly,
              ...(runCluster ? [] : ['test/deploy/cluster.test.ts']),
              ...(runStartup ? [] : ['test/deploy/startup-deps.test.ts']),
            ],
          },
        }]),
        {
          extends: true as const,
          test: { name: 'sqlite', include: only ? timing : [integration], exclude: deferred, env: { TEST_DRIVER: 'sqlite' } },
        },
        ...(runMysql
          ? [
              {
                extends: true as const,
                test: {
                  name: 'mysql',
                  include: only ? timing : [integration, mysqlOnly],
                  exclude: deferred,
                  env: { TEST_DRIVER: 'mysql', TEST_MYSQL_URL: mysqlUrl, TEST_REDIS_URL: redisUrl },
                },
              },
            ]
          : []),
      ],
    },
  };
});
