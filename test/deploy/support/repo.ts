/**
 * The deployment files under test, read from the repository root, plus the two tools
 * every deploy test needs: a YAML parser and a way to run commands with a deadline.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const repoPath = (...parts: string[]) => join(ROOT, ...parts);
export const readRepoFile = (...parts: string[]) => readFileSync(repoPath(...parts), 'utf8');

// js-yaml is what pm2 itself parses YAML with (pinned in pm2's package.json), so it is
// always installed with pm2; reusing it avoids a new dependency just for tests.
const requireFromPm2 = createRequire(createRequire(import.meta.url).resolve('pm2/package.json'));
const jsYaml = requireFromPm2('js-yaml') as { load(text: string): unknown };

export function loadYaml<T = unknown>(...parts: string[]): T {
  return jsYaml.load(readRepoFile(...parts)) as T;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws on a non-zero exit, only on a timeout. */
export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && (error as { killed?: boolean }).killed) {
          reject(new Error(`${file} ${args.join(' ')} timed out\n${stderr}`));
          return;
        }
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: Number.isFinite(code) ? code : 1, stdout, stderr });
      },
    );
  });
}

export interface EcosystemApp {
  name: string;
  namespace: string;
  script: string;
  cwd: string;
  exec_mode: string;
  instances: number;
  kill_timeout: number;
  listen_timeout: number;
  max_memory_restart: string;
  out_file: string;
  error_file: string;
  env: Record<string, string>;
  env_production: Record<string, string>;
  [key: string]: unknown;
}

/**
 * Loads ecosystem.config.js the way pm2 does — require() from CommonJS — in a fresh
 * process with exactly the given environment.
 */
export async function loadEcosystem(env: Record<string, string> = {}): Promise<EcosystemApp[]> {
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(repoPath('ecosystem.config.js'))}).apps))`;
  const result = await run(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env } });
  if (result.code !== 0) throw new Error(`ecosystem.config.js failed to load:\n${result.stderr}`);
  return JSON.parse(result.stdout) as EcosystemApp[];
}

/** `host:port` entries of the `server` lines of an nginx upstream file. */
export function upstreamServers(conf: string): { host: string; port: number }[] {
  return [...conf.matchAll(/^\s*server\s+([^\s:;]+):(\d+)\b/gm)].map((m) => ({ host: m[1]!, port: Number(m[2]) }));
}

