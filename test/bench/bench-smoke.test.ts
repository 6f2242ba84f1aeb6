/**
 * Keeps `npm run bench` from rotting: runs bench/run-bench.mjs in --smoke mode on the
 * embedded setup only, as a child process (it builds the gateway unless dist/ is newer than
 * every source file, and starts it as its own process), and checks that it exits 0 and
 * reports figures that add up.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'notify-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The build is most of this test's time; skip it when dist/ is already newer than src/ and migrations/. */
function distIsFresh(): boolean {
  const built = statSync(join(repoRoot, 'dist/src/main.js'), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  return ['src', 'migrations', 'package.json', 'tsconfig.json'].every((entry) => {
    const root = join(repoRoot, entry);
    const files = statSync(root).isDirectory() ? readdirSync(root, { recursive: true, encoding: 'utf8' }).map((f) => join(root, f)) : [root];
    return files.every((file) => statSync(file).mtimeMs <= built);
  });
}

interface Percentiles {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface SetupResult {
  name: string;
  error?: string;
  skipped?: string;
  countProblems: string[];
  rss: { sockets: number; socketsSeenByGateway: number; beforeKb: number; afterKb: number };
  latency: Percentiles & { posted: number; committed: number; unique: number };
  ingest: Ingest;
  deliveries: Deliveries;
  replay: { missed: number; rounds: { missed: number; replayed: number; recovered: boolean; matched: number; totalMs: number }[] };
  naive: { available: boolean; reason?: string; ratio: number; ingest: Ingest; deliveries: Deliveries };
}

interface Ingest {
  posted: number;
  committed: number;
  committedPerSec: number;
  groupCommits: number;
}

interface Deliveries {
  expected: number;
  unique: number;
  perSec: number;
}

interface BenchReport {
  options: { clients: number; count: number; missed: number };
  results: SetupResult[];
}

it('runs the embedded setup end to end and reports figures that add up', async () => {
  const args = ['bench/run-bench.mjs', '--smoke', '--setups', 'embedded', '--out', out, ...(distIsFresh() ? ['--no-build'] : [])];
  const { stdout } = await run(process.execPath, args, {
    cwd: repoRoot,
    timeout: 80_000,
  });
  expect(stdout).toMatch(/POST→receipt/);
  expect(stdout).toMatch(/results written to/);

  const files = readdirSync(out).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  const report = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as BenchReport;
  const { options } = report;
  expect(report.results.map((r) => r.name)).toEqual(['embedded']);
  const result = report.results[0]!;
  expect(result.error).toBeUndefined();
  expect(result.skipped).toBeUndefined();
  expect(result.countProblems).toEqual([]);

  expect(result.rss.sockets).toBe(options.clients);
  expect(result.rss.socketsSeenByGateway).toBe(options.clients);
  expect(result.rss.afterKb).toBeGreaterThan(0);

  const latency = result.latency;
  expect([latency.posted, latency.committed, latency.unique, latency.samples]).toEqual(Array(4).fill(options.count));
  expect(latency.p50).toBeGreaterThan(0);
  expect(latency.p95).toBeGreaterThanOrEqual(latency.p50);
  expect(latency.p99).toBeGreaterThanOrEqual(latency.p95);
  expect(latency.max).toBeGreaterThanOrEqual(latency.p99);

  expect(result.ingest.committed).toBeGreaterThan(0);
  expect(result.ingest.committed).toBe(result.ingest.posted);
  expect(result.ingest.committedPerSec).toBeGreaterThan(0);
  expect(result.deliveries.expected).toBe(result.ingest.committed);
  expect(result.deliveries.unique).toBe(result.ingest.committed);
  expect(result.deliveries.perSec).toBeGreaterThan(0);

  expect(result.replay.rounds.length).toBeGreaterThan(0);
  for (const round of result.replay.rounds) {
    expect(round).toMatchObject({ missed: options.missed, replayed: options.missed, matched: options.missed, recovered: true });
    expect(round.totalMs).toBeGreaterThan(0);
  }

  // The comparison is real only if the gateway's own metrics say which path each run took.
  expect(result.ingest.groupCommits).toBeGreaterThan(0);
  expect(result.naive).toMatchObject({ available: true, ingest: { groupCommits: 0 } });
  expect(result.naive.ingest.committed).toBeGreaterThan(0);
  expect(result.naive.deliveries.unique).toBe(result.naive.ingest.committed);
  expect(result.naive.ratio).toBeGreaterThan(0);
}, 90_000);
