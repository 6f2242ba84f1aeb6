/**
 * The compiled gateway (dist/src/main.js) as a real child process, for tests that need
 * to kill an instance without goodbye (SIGKILL: no close(), no lease release, no
 * flush). Configured like harness.ts configures in-process instances, on a free port.
 *
 *   const a = await startGatewayProcess(bed.db, { DELIVERY_POLL_MS: '50' }); // built, ready
 *   a.url / a.pid / a.output()                    // output: its stdout+stderr so far
 *   await a.kill('SIGKILL');                      // resolves on the 'exit' event
 *   await a.stop();                               // teardown: SIGKILL if still running
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureBuilt } from '../deploy/support/build.js';
import { ROOT, repoPath } from '../deploy/support/repo.js';
import type { TestDatabase } from './drivers.js';
import { ACME_KEY, API_KEY, JWT_SECRET } from './harness.js';
import { freePort } from './ports.js';
import { until } from './until.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the 'exit' event arrived. */
  at: number;
}

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (for whatever reason). */
  readonly exited: Promise<ProcessExit>;
  /** What it printed so far (bounded), for failure messages. */
  output(): string;
  /** Sends `signal` and resolves on the 'exit' event. */
  kill(signal?: NodeJS.Signals): Promise<ProcessExit>;
  /** Teardown: SIGKILL unless it already exited; idempotent. */
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

export async function startGatewayProcess(
  db: TestDatabase,
  env: Record<string, string> = {},
  readyTimeoutMs = 30_000,
): Promise<GatewayProcess> {
  await ensureBuilt();
  const port = await freePort();
  const child = spawn(process.execPath, [repoPath('dist', 'src', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      ...(db.redisUrl ? { REDIS_URL: db.redisUrl } : {}),
      REDIS_KEY_PREFIX: db.redisPrefix,
      JWT_SECRET,
      NOTIFY_API_KEYS: `${API_KEY},${ACME_KEY}:acme`,
      LOG_LEVEL: 'warn',
      RELAY_POLL_MS: '200',
      RELAY_LEASE_RETRY_MS: '100',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const record = (chunk: Buffer) => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  const state: { exit: ProcessExit | null } = { exit: null };
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((state.exit = { code, signal, at: Date.now() })));
  });
  // A spawn failure (no such file) arrives as 'error', and 'exit' may never follow.
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => {});

  const url = `http://127.0.0.1:${port}`;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (state.exit) return state.exit;
    child.kill(signal);
    return exited;
  };
  const handle: GatewayProcess = {
    url,
    pid: child.pid!,
    child,
    exited,
    output: () => output,
    kill,
    async stop() {
      await kill('SIGKILL');
    },
  };
  try {
    // Ends early when the process dies, so a failed start does not poll on for the full timeout.
    const ready = until(
      async () => state.exit !== null || (await fetch(`${url}/readyz`)).status === 200,
      `gateway process /readyz on ${port}`,
      readyTimeoutMs,
      50,
    );
    await Promise.race([ready, spawnFailed]);
    const early = state.exit;
    if (early) throw new Error(`gateway process exited before it was ready (code ${early.code}, signal ${early.signal})`);
  } catch (error) {
    await handle.stop();
    throw new Error(`${(error as Error).message}\n--- its output ---\n${output}`);
  }
  return handle;
}
