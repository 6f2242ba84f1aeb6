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

const execFileAsync = promisify(execFile);

/** Runs the bench; on a non-zero exit the error carries what it printed, which says why. */
async function run(file: string, args: string[], options: { cwd: string; timeout: number; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string }> {
  try {
    return await execFileAsync(file, args, options);
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${(error as Error).message}\n${stdout}\n${stderr}`);
  }
}
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
  latency: Percentiles & { posted: number; committed: number; unique: number; postMode: string };
  ingest: Ingest;
  deliveries: Deliveries;
  batch: BatchIngest;
  replay: { missed: number; rounds: { missed: number; replayed: number; recovered: boolean; matched: number; totalMs: number }[] };
  broadcast: {
    clients: number;
    medianMaxMs: number;
    allReceivedEveryRound: boolean;
    rss: { sockets: number; socketsSeenByGateway: number; perSocketKb: number };
    rounds: { received: number; samples: number; p50: number; p99: number; max: number }[];
  };
  cost: Cost;
  naive: {
    cost: Cost;
    available: boolean;
    reason?: string;
    ratio: number;
    batchRatio: number;
    batchVsNaiveSingle: number;
    ingest: Ingest;
    deliveries: Deliveries;
    batch: BatchIngest;
    webhook: Webhook;
    webhookRatio: number;
  };
  webhook: Webhook;
}

interface Cost {
  count: number;
  posted: number;
  committed: number;
  received: number;
  cpuUs: { gateway: number; database: number | null; redis: number | null };
}

interface Webhook {
  count: number;
  worker: { concurrency: number; claimBatch: number };
  posted: number;
  committed: number;
  perSec: number;
  totalMs: number;
  received: {
    all: boolean;
    delivered: number;
    requests: number;
    distinct: number;
    duplicates: number;
    withoutId: number;
    sampled: number;
    signatureOk: number;
    signatureBad: number;
  };
  gatewaySent: { total: number; perInstance: number[] };
  queue: { pending: number; sending: number; failed: number; dead: number; settled: boolean };
  listed: { limit: number; sent: number; suppressed: number };
  gatewayLogs: { error: number };
  cpu: { gatewayMsPerDelivery: number; databaseMsPerDelivery: number | null };
}

interface BatchIngest extends Ingest {
  batchSize: number;
  requests: number;
  outbox: { available: boolean; drained: boolean; backlogLeft: number; drainMsAfterLastPost: number };
  deliveries: { expected: number; unique: number; drained: boolean };
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
  options: {
    clients: number;
    count: number;
    missed: number;
    broadcastClients: number;
    broadcastRounds: number;
    webhookCount: number;
    webhookNaiveCount: number;
    costCount: number;
  };
  results: SetupResult[];
}

it('runs the embedded setup end to end and reports figures that add up', async () => {
  const args = ['bench/run-bench.mjs', '--smoke', '--setups', 'embedded', '--out', out, ...(distIsFresh() ? ['--no-build'] : [])];
  const { stdout } = await run(process.execPath, args, {
    cwd: repoRoot,
    timeout: 80_000,
    // A progress line every 300 ms, so that even the smoke run's short phases print some.
    env: { ...process.env, BENCH_PROGRESS_MS: '300' },
  });
  expect(stdout).toMatch(/POST→receipt/);
  expect(stdout).toMatch(/^ {3}… embedded · (connect clients|broadcast|latency|ingest|batch ingest|replay|cost|webhooks): .*\d+\/\d+.* \(\d+ s\)$/m);
  expect(stdout).toMatch(/^ {3}… embedded naive · /m);
  const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
  expect(markdown).toMatch(/^`npm run bench -- --smoke --setups embedded .*` \(.* UTC; \d+ cores/);
  expect(markdown).toMatch(/^\| +\| embedded \(SQLite file, 1 process\) \|$/m); // the setup's label heads its column
  expect(markdown).toMatch(/^\| POST→receipt p99 +\| [\d.]+ ms +\|$/m);
  expect(stdout).toMatch(/batch ingest, batched ÷ naive/);
  expect(stdout).toMatch(/tenant broadcast to \d+ sockets +reaches all within/);
  expect(stdout).toMatch(/\| webhook deliveries\/s \(\d+, first POST → last receipt\) +\| [\d,]+ +\|/);
  expect(stdout).toMatch(/\| CPU per delivery \(gateway \/ MariaDB\) +\| [\d.]+ \/ – ms +\|/);
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

  const batch = result.batch;
  expect(batch.committed).toBeGreaterThan(0);
  expect(batch.committed).toBe(batch.posted);
  expect(batch.posted).toBe(batch.requests * batch.batchSize);
  expect(batch.committedPerSec).toBeGreaterThan(0);
  expect(batch.outbox).toMatchObject({ available: true, drained: true, backlogLeft: 0 });
  expect(batch.outbox.drainMsAfterLastPost).toBeGreaterThanOrEqual(0);
  expect(batch.deliveries).toMatchObject({ expected: batch.committed, unique: batch.committed, drained: true });

  // One tenant-scope POST per round reaches every broadcast socket once.
  const broadcast = result.broadcast;
  expect(broadcast.clients).toBe(options.broadcastClients);
  expect(broadcast.rss).toMatchObject({ sockets: options.broadcastClients, socketsSeenByGateway: options.broadcastClients });
  expect(broadcast.rounds).toHaveLength(options.broadcastRounds);
  for (const round of broadcast.rounds) {
    expect(round).toMatchObject({ received: options.broadcastClients, samples: options.broadcastClients });
    expect(round.max).toBeGreaterThanOrEqual(round.p99);
  }
  expect(broadcast.allReceivedEveryRound).toBe(true);
  expect(broadcast.medianMaxMs).toBeGreaterThan(0);

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
  expect(result.batch.groupCommits).toBeGreaterThan(0);
  expect(result.naive.batch.groupCommits).toBe(0);
  expect(result.naive.batch.committed).toBe(result.naive.batch.posted);
  expect(result.naive.batch.deliveries.unique).toBe(result.naive.batch.committed);
  expect(result.naive.batchRatio).toBeGreaterThan(0);
  expect(result.naive.batchVsNaiveSingle).toBeGreaterThan(0);

  // The single-POST cost, batched and naive in the same run: every one received, CPU per
  // notification of the gateway (embedded: no database server or Redis to read).
  expect(stdout).toMatch(/\| CPU per notification, gateway \/ database \/ Redis \(\d+ single POSTs, \d+ lanes\) +\| [\d,]+ µs \/ n\/a \/ n\/a +\|/);
  for (const cost of [result.cost, result.naive.cost]) {
    expect(cost).toMatchObject({ count: options.costCount, posted: options.costCount, committed: options.costCount, received: options.costCount });
    expect(cost.cpuUs.gateway).toBeGreaterThan(0);
    expect(cost.cpuUs).toMatchObject({ database: null, redis: null });
  }

  // Every notification with channels ['hook'] reached the local receiver once, signed, and
  // the gateway recorded it sent; the naive worker (claim 1, 1 in flight) likewise.
  const webhookChecks = (w: Webhook, count: number) => {
    expect(w).toMatchObject({ count, posted: count, committed: count });
    expect(w.received).toMatchObject({ all: true, delivered: count, requests: count, distinct: count, duplicates: 0, withoutId: 0, signatureBad: 0 });
    expect(w.received.sampled).toBeGreaterThan(0);
    expect(w.received.signatureOk).toBe(w.received.sampled);
    expect(w.gatewaySent.total).toBe(count);
    expect(w.queue).toMatchObject({ pending: 0, sending: 0, failed: 0, dead: 0, settled: true });
    expect(w.listed).toEqual({ limit: count, sent: count, suppressed: 0 });
    expect(w.gatewayLogs.error).toBe(0);
    expect(w.perSec).toBeGreaterThan(0);
    expect(w.totalMs).toBeGreaterThan(0);
    expect(w.cpu.gatewayMsPerDelivery).toBeGreaterThanOrEqual(0);
    expect(w.cpu.databaseMsPerDelivery).toBeNull(); // embedded: no MariaDB
  };
  webhookChecks(result.webhook, options.webhookCount);
  expect(result.webhook.worker).toEqual({ concurrency: 32, claimBatch: 50 });
  webhookChecks(result.naive.webhook, options.webhookNaiveCount);
  expect(result.naive.webhook.worker).toEqual({ concurrency: 1, claimBatch: 1 });
  expect(result.naive.webhookRatio).toBeGreaterThan(0);
}, 90_000);

it('sends the latency load as 10 ms batches above the single-POST rate, and says so', async () => {
  const args = ['bench/run-bench.mjs', '--smoke', '--setups', 'embedded', '--rate', '400', '--count', '200',
    '--broadcast-clients', '0', '--no-naive', '--webhook-count', '0', '--out', join(out, 'batch-mode'), '--no-build'];
  const { stdout } = await run(process.execPath, args, { cwd: repoRoot, timeout: 60_000 });
  expect(stdout).toMatch(/batches of 4 every 10 ms; 200\/200 received/);
  expect(stdout).not.toMatch(/webhook/); // --webhook-count 0 skips the phase
}, 70_000);

it('measures urgent notifications behind a backlog with out-of-band emits on and off', async () => {
  const dir = join(out, 'urgent');
  const args = ['bench/run-bench.mjs', '--smoke', '--setups', 'embedded', '--urgent-only', '--out', dir, '--no-build'];
  const { stdout } = await run(process.execPath, args, { cwd: repoRoot, timeout: 60_000 });
  expect(stdout).toMatch(/urgent POST→receipt, out of band +p50 [\d.]+ ms/);
  expect(stdout).toMatch(/urgent POST→receipt, in order only +p50 [\d.]+ ms/);
  const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'));
  type Mode = { backlog: { committed: number; unique: number; drained: boolean }; urgent: { committed: number; unique: number; early: number; samples: number } };
  const result = (JSON.parse(readFileSync(join(dir, file!), 'utf8')) as { results: { countProblems: string[]; urgent: { on: Mode; off: Mode } }[] }).results[0]!;
  expect(result.countProblems).toEqual([]);
  const { on, off } = result.urgent;
  for (const mode of [on, off]) {
    expect(mode.backlog).toMatchObject({ committed: 1000, unique: 1000, drained: true });
    expect(mode.urgent.committed).toBeGreaterThan(0);
    expect(mode.urgent.unique).toBe(mode.urgent.committed);
    expect(mode.urgent.samples).toBe(mode.urgent.committed);
  }
  expect(on.urgent.early).toBeGreaterThan(0); // the first copy came out of band
  expect(off.urgent.early).toBe(0);
}, 70_000);
