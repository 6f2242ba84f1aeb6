/**
 * `npm test` works on any machine: with nginx, promtool, prometheus, redis-server and chromium off
 * PATH and MySQL/Redis on closed ports, vitest leaves out exactly the files that need
 * them, one line per missing tool saying how to get it, and what is left passes. Under
 * CI=true nothing is left out. Runs vitest itself in `list` mode and on a small subset.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';

const ROOT = join(import.meta.dirname, '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** Which tool each line names, and a file that needs it. */
const TOOLS = [
  { line: /^!! nginx not found on PATH: left out .*test\/deploy\/nginx\.test\.ts.*Get it: apt-get install nginx\.$/m, file: 'test/deploy/nginx.test.ts' },
  { line: /^!! promtool not found on PATH: left out .*test\/deploy\/prometheus\.test\.ts.*Get it: apt-get install prometheus/m, file: 'test/deploy/prometheus.test.ts' },
  { line: /^!! prometheus not found on PATH: left out .*test\/deploy\/dashboard-queries\.test\.ts.*Get it: apt-get install prometheus\.$/m, file: 'test/deploy/dashboard-queries.test.ts' },
  { line: /^!! redis-server not found on PATH: left out .*test\/deploy\/startup-deps\.test\.ts.*Get it: apt-get install redis-server\.$/m, file: 'test/deploy/startup-deps.test.ts' },
  { line: /^!! redis-cli not found on PATH: left out .*test\/cluster\/redis-cluster\.mysql\.test\.ts.*Get it: apt-get install redis-tools/m, file: 'test/cluster/redis-cluster.mysql.test.ts' },
  { line: /^!! chromium not found on PATH: left out .*test\/client\/demo-page\.test\.ts.*Get it: apt-get install chromium/m, file: 'test/client/demo-page.test.ts' },
  { line: /^!! MySQL\/MariaDB not reachable at mysql:\/\/root@127\.0\.0\.1:\d+\/test: left out the mysql project .*Get it: apt-get install mariadb-server/m, file: 'test/deploy/cluster.test.ts' },
  { line: /^!! Redis not reachable at redis:\/\/127\.0\.0\.1:\d+: left out the mysql project\. Get it: apt-get install redis-server/m, file: null },
  { line: /^!! the npm registry \(http:\/\/127\.0\.0\.1:\d+\/\) not reachable: left out test\/deploy\/package\.test\.ts\. Get it: /m, file: 'test/deploy/package.test.ts' },
];

let bin: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  // PATH holds node and nothing else; the services' URLs (and the npm registry's) point at
  // ports nobody listens on.
  bin = mkdtempSync(join(tmpdir(), 'notify-bare-path-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const inherited = Object.entries(process.env).filter(([key]) => !/^(CI|CHROMIUM_PATH|FORCE_COLOR|TEST_.*|VITEST.*|npm_.*)$/i.test(key));
  env = {
    ...Object.fromEntries(inherited),
    PATH: bin,
    NO_COLOR: '1',
    TEST_MYSQL_URL: `mysql://root@127.0.0.1:${await freePort()}/test`,
    TEST_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    npm_config_registry: `http://127.0.0.1:${await freePort()}/`,
  };
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function vitest(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VITEST, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Listed {
  file: string;
  projectName: string;
}
const listed = (stdout: string) => (JSON.parse(stdout) as Listed[]).map((l) => ({ ...l, file: l.file.slice(ROOT.length + 1) }));

describe('a machine without the tools', () => {
  it('leaves out the files that need them, one line per tool saying how to get it', async () => {
    const result = await vitest(['list', '--filesOnly', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const leftOutLines = result.stderr.split('\n').filter((line) => line.startsWith('!!'));
    expect(leftOutLines).toHaveLength(TOOLS.length);
    for (const tool of TOOLS) expect(result.stderr).toMatch(tool.line);

    const files = listed(result.stdout);
    expect(files.filter((f) => f.projectName === 'mysql')).toEqual([]);
    const listedFiles = new Set(files.map((f) => f.file));
    for (const tool of TOOLS) if (tool.file) expect(listedFiles.has(tool.file), tool.file).toBe(false);
    // Every file a line names is out; the rest of the suite is in.
    const named = leftOutLines.flatMap((line) => line.match(/test\/[\w./-]+\.test\.ts/g) ?? []);
    for (const file of named) expect(listedFiles.has(file), file).toBe(false);
    expect(listedFiles).toContain('test/logger.test.ts');
    expect(listedFiles).toContain('test/deploy/compose.test.ts');
    expect(listedFiles).toContain('test/realtime/delivery.int.test.ts');
  });

  it('runs what is left and passes: left-out files are neither run nor failed', async () => {
    const filters = ['test/deploy/nginx.test.ts', 'test/deploy/prometheus.test.ts', 'test/client/demo-page.test.ts', 'test/config/heartbeat-config.test.ts'];
    const result = await vitest(['run', '--project', 'unit', ...filters]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/Test Files\s+\S*1 passed/);
    expect(result.stdout).toContain('heartbeat-config.test.ts');
    expect(result.stdout).not.toMatch(/nginx\.test|prometheus\.test|demo-page\.test/);
  });

  it('leaves out nothing under CI=true, so a missing tool fails the run', async () => {
    const result = await vitest(['list', '--filesOnly', '--json'], { CI: 'true' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/^!!/m);
    const files = listed(result.stdout);
    const listedFiles = new Set(files.map((f) => f.file));
    for (const tool of TOOLS) if (tool.file) expect(listedFiles.has(tool.file), tool.file).toBe(true);
    expect(files.some((f) => f.projectName === 'mysql' && f.file === 'test/realtime/redis-outage.mysql.test.ts')).toBe(true);
  });
});
