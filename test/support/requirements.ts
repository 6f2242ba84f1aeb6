/**
 * What the test files need beyond Node and node_modules, for vitest.config.ts to leave out
 * what a machine cannot run (one line per missing tool, naming it and how to get it) —
 * outside CI only: under CI=true nothing is left out and a missing tool fails its files.
 *
 * A file needs a program when it, or a local module it imports (transitively), starts it:
 * `spawn('nginx'`, `run('promtool'`, `spawn('prometheus'`, `spawn('redis-server'`, `chromium.launch(`. So a new
 * test that uses test/deploy/support/nginx.ts or the browser bed is covered without being
 * listed anywhere. The services: MySQL/MariaDB and Redis for the mysql project, MySQL for
 * a file that creates its own database (`createMysqlDatabase(` in the file itself), the
 * npm registry for a file that installs the packed package (`packAndInstall(`).
 */
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, dirname, join, relative, resolve } from 'node:path';

interface Program {
  name: string;
  /** How a module starts it. */
  starts: RegExp;
  get: string;
  /** Where it is when not on PATH under its name (a setting the tests read). */
  override?: string;
}

const PROGRAMS: Program[] = [
  { name: 'nginx', starts: /\b(?:spawn|run|execFile)\(\s*'nginx'/, get: 'apt-get install nginx' },
  { name: 'promtool', starts: /\b(?:spawn|run|execFile)\(\s*'promtool'/, get: 'apt-get install prometheus (it ships promtool)' },
  { name: 'prometheus', starts: /\b(?:spawn|run|execFile)\(\s*'prometheus'/, get: 'apt-get install prometheus' },
  { name: 'redis-server', starts: /\b(?:spawn|run|execFile)\(\s*'redis-server'/, get: 'apt-get install redis-server' },
  { name: 'redis-cli', starts: /\b(?:spawn|run|execFile)\(\s*'redis-cli'/, get: 'apt-get install redis-tools (redis-server brings it too)' },
  { name: 'chromium', starts: /\bchromium\.launch\(/, get: 'apt-get install chromium, or set CHROMIUM_PATH', override: 'CHROMIUM_PATH' },
];

const OWN_DATABASE = /\bcreateMysqlDatabase\(/;
const INSTALLS_PACKAGE = /\bpackAndInstall\(/;
/** What `npm install` asks (`npm test` passes npm's setting down as npm_config_registry). */
const registryUrl = () => process.env.npm_config_registry || 'https://registry.npmjs.org/';

/** A TCP connection to the URL's host and port opens within 1.5 s. */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort), timeout: 1500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export interface Services {
  mysqlUrl: string;
  redisUrl: string;
  mysqlUp: boolean;
  redisUp: boolean;
}

export interface Plan {
  /** Files left out of every project (repository-relative). */
  exclude: string[];
  /** False: the mysql project is left out whole. */
  runMysql: boolean;
  /** One line per missing tool or service. */
  lines: string[];
  /** Where the tests find programs that have a setting for their path (CHROMIUM_PATH). */
  env: Record<string, string>;
}

/** `name` on PATH, as the shell would find it; null if it is not there. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The local modules a file imports, resolved as the TypeScript sources (`./x.js` → `./x.ts`). */
function localImports(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const spec = resolve(dirname(file), (match[1] ?? match[2])!);
    const candidates = spec.endsWith('.js') ? [spec.replace(/\.js$/, '.ts'), spec.replace(/\.js$/, '.tsx'), spec] : [spec, `${spec}.ts`];
    const hit = candidates.find((candidate) => {
      try {
        readFileSync(candidate);
        return true;
      } catch {
        return false;
      }
    });
    if (hit) found.push(hit);
  }
  return found;
}

/** The programs a file starts, itself or through the local modules it imports. */
function programsOf(file: string, cache: Map<string, Set<string>>, visiting = new Set<string>()): Set<string> {
  const cached = cache.get(file);
  if (cached) return cached;
  const needs = new Set<string>();
  if (visiting.has(file)) return needs;
  visiting.add(file);
  const source = readFileSync(file, 'utf8');
  for (const program of PROGRAMS) if (program.starts.test(source)) needs.add(program.name);
  for (const imported of localImports(file, source)) for (const name of programsOf(imported, cache, visiting)) needs.add(name);
  cache.set(file, needs);
  return needs;
}

const isUnit = (file: string) => !/\.(int|mysql)\.test\.ts$/.test(file);

export async function planTestRun(root: string, services: Services, ci: boolean): Promise<Plan> {
  const files = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(root, 'test', f))
    .sort();
  const cache = new Map<string, Set<string>>();
  const rel = (file: string) => relative(root, file);
  const plan: Plan = { exclude: [], runMysql: true, lines: [], env: {} };

  for (const program of PROGRAMS) {
    const configured = program.override ? process.env[program.override] : undefined;
    const at = configured ? (isExecutable(configured) ? configured : null) : findOnPath(program.name);
    if (at && program.override) plan.env[program.override] = at;
    if (at || ci) continue;
    const needing = files.filter((file) => programsOf(file, cache).has(program.name));
    if (needing.length === 0) continue;
    plan.exclude.push(...needing.map(rel));
    const where = configured ? `${program.override}=${configured} is not executable` : 'not found on PATH';
    plan.lines.push(`!! ${program.name} ${where}: left out ${needing.map(rel).join(', ')}. Get it: ${program.get}.`);
  }

  if (!ci) {
    if (!services.mysqlUp) {
      const own = files.filter((file) => isUnit(file) && OWN_DATABASE.test(readFileSync(file, 'utf8'))).map(rel);
      plan.exclude.push(...own);
      const also = own.length > 0 ? ` and ${own.join(', ')}` : '';
      plan.lines.push(
        `!! MySQL/MariaDB not reachable at ${services.mysqlUrl}: left out the mysql project${also}. Get it: apt-get install mariadb-server, or set TEST_MYSQL_URL.`,
      );
    }
    if (!services.redisUp) {
      plan.lines.push(`!! Redis not reachable at ${services.redisUrl}: left out the mysql project. Get it: apt-get install redis-server, or set TEST_REDIS_URL.`);
    }
    plan.runMysql = services.mysqlUp && services.redisUp;
    const installing = files.filter((file) => INSTALLS_PACKAGE.test(readFileSync(file, 'utf8'))).map(rel);
    const registry = registryUrl();
    if (installing.length > 0 && !(await reachable(registry, registry.startsWith('http:') ? 80 : 443))) {
      plan.exclude.push(...installing);
      plan.lines.push(`!! the npm registry (${registry}) not reachable: left out ${installing.join(', ')}. Get it: a network connection, or npm_config_registry set to a mirror.`);
    }
  }
  plan.exclude = [...new Set(plan.exclude)];
  return plan;
}

/** vitest evaluates the config once per project, in one process: say each thing once. */
export function warnOnce(text: string): void {
  const said = ((globalThis as { notifyTestRunSaid?: Set<string> }).notifyTestRunSaid ??= new Set<string>());
  if (said.has(text)) return;
  said.add(text);
  console.warn(text);
}
