/**
 * One suite, run per driver: `*.int.test.ts` runs once on SQLite + in-process adapter
 * and once on MySQL/MariaDB + Redis; `*.mysql.test.ts` (several instances, killed
 * connections, outages) only on MySQL + Redis; other tests run once ("unit").
 * Nothing is skipped inside a file: what a machine cannot run (a program such as nginx or
 * chromium, the MySQL/Redis services) is left out here, one line per missing tool saying
 * how to get it (test/support/requirements.ts finds which files need what).
 * In CI (CI=true) everything is included, so a missing tool or service fails the run.
 */
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { planTestRun, reachable, warnOnce } from './test/support/requirements.js';

const mysqlUrl = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export default defineConfig(async (): Promise<ViteUserConfig> => {
  const [mysqlUp, redisUp] = await Promise.all([reachable(mysqlUrl, 3306), reachable(redisUrl, 6379)]);
  const ci = process.env.CI === 'true';
  const plan = await planTestRun(import.meta.dirname, { mysqlUrl, redisUrl, mysqlUp, redisUp }, ci);
  if (plan.lines.length > 0) warnOnce(`\n${plan.lines.join('\n')}\n`);
  const runMysql = plan.runMysql;
  const integration = 'test/**/*.int.test.ts';
  const mysqlOnly = 'test/**/*.mysql.test.ts';
  // Tests that assert latency bounds (healthz ≤ 100 ms during the largest batch) need the
  // box to themselves: beside other test files on two cores they measure the neighbours.
  // TEST_TIMING=skip leaves them to `npm run test:timing` (one file at a time), which CI runs
  // right after; TEST_TIMING=only runs just them. Unset: they run with everything else.
  const timing = ['test/http/event-loop-safety.int.test.ts'];
  const timingMode = process.env.TEST_TIMING;
  if (timingMode === 'skip') warnOnce(`\n!! ${timing.join(', ')} deferred to \`npm run test:timing\` (TEST_TIMING=skip).\n`);
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
            exclude: [integration, mysqlOnly, ...plan.exclude],
            env: plan.env,
          },
        }]),
        {
          extends: true as const,
          test: {
            name: 'sqlite',
            include: only ? timing : [integration],
            exclude: [...deferred, ...plan.exclude],
            env: { TEST_DRIVER: 'sqlite', ...plan.env },
          },
        },
        ...(runMysql
          ? [
              {
                extends: true as const,
                test: {
                  name: 'mysql',
                  include: only ? timing : [integration, mysqlOnly],
                  exclude: [...deferred, ...plan.exclude],
                  env: { TEST_DRIVER: 'mysql', TEST_MYSQL_URL: mysqlUrl, TEST_REDIS_URL: redisUrl, ...plan.env },
                },
              },
            ]
          : []),
      ],
    },
  };
});
