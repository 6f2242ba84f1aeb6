/**
 * The deploy tests run the compiled gateway (dist/), as pm2 and Docker do. This builds
 * it once when any source is newer than dist/src/main.js; test files running in
 * parallel wait on one lock directory instead of running tsc side by side.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, repoPath, run } from './repo.js';
import { waitUntil } from './wait.js';

const LOCK = join(tmpdir(), `notify-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}.lock`);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  let built: number;
  try {
    built = statSync(repoPath('dist', 'src', 'main.js')).mtimeMs;
  } catch {
    return false;
  }
  const sources = Math.max(
    newestMtime(repoPath('src')),
    newestMtime(repoPath('migrations')),
    statSync(repoPath('tsconfig.json')).mtimeMs,
    statSync(repoPath('tsconfig.build.json')).mtimeMs,
  );
  return built >= sources;
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    // A lock left by a killed run is older than any build takes.
    const lock = statSync(LOCK, { throwIfNoEntry: false });
    if (lock && Date.now() - lock.mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
}

export async function ensureBuilt(): Promise<void> {
  await waitUntil(tryLock, 'the build lock', 180_000, 200);
  try {
    if (isFresh()) return;
    const result = await run('npm', ['run', 'build', '--silent'], { timeoutMs: 170_000 });
    if (result.code !== 0) throw new Error(`npm run build failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmdirSync(LOCK);
  }
}
