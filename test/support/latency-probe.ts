/**
 * Measures how long a gateway keeps other requests waiting: a worker thread (its own
 * event loop, so a stalled gateway in this process cannot delay the probe's clock) asks
 * `GET <path>` over one keep-alive connection every `intervalMs` and records each
 * answer's latency from the moment the request was sent.
 *
 *   const probe = await startLatencyProbe(`${url}/healthz`);
 *   …work…
 *   const { samples, maxMs } = await probe.stop();
 */
import { Worker } from 'node:worker_threads';

export interface ProbeSample {
  /** performance.now() of the worker when the request was sent. */
  sentAt: number;
  ms: number;
  status: number | null;
  error?: string;
}

export interface ProbeResult {
  samples: ProbeSample[];
  maxMs: number;
  /** Requests that failed or answered other than 200. */
  failures: ProbeSample[];
}

export interface LatencyProbe {
  /** Resolves once `count` answers arrived (the connection is warm). */
  warm(count?: number): Promise<void>;
  stop(): Promise<ProbeResult>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const target = new URL(workerData.url);
const samples = [];
let stopped = false;
parentPort.on('message', (m) => { if (m === 'stop') stopped = true; });
function next() {
  if (stopped) {
    agent.destroy();
    parentPort.postMessage({ done: samples });
    return;
  }
  const sentAt = performance.now();
  let settled = false;
  const record = (status, error) => {
    if (settled) return;
    settled = true;
    samples.push({ sentAt, ms: performance.now() - sentAt, status, ...(error ? { error } : {}) });
    if (samples.length <= 10) parentPort.postMessage({ count: samples.length });
    setTimeout(next, workerData.intervalMs);
  };
  const req = http.get({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
    res.resume();
    res.on('end', () => record(res.statusCode, null));
    res.on('error', (e) => record(res.statusCode, e.message));
  });
  req.setTimeout(30000, () => req.destroy(new Error('probe timeout')));
  req.on('error', (e) => record(null, e.message));
}
next();
`;

export function startLatencyProbe(url: string, intervalMs = 10): LatencyProbe {
  const worker = new Worker(WORKER, { eval: true, workerData: { url, intervalMs } });
  let answered = 0;
  const countWaiters: { count: number; resolve: () => void }[] = [];
  const done = new Promise<ProbeSample[]>((resolve, reject) => {
    worker.on('message', (m: { count?: number; done?: ProbeSample[] }) => {
      if (m.count !== undefined) {
        answered = m.count;
        for (const w of countWaiters.filter((w) => w.count <= answered)) w.resolve();
      }
      if (m.done) resolve(m.done);
    });
    worker.once('error', reject);
  });
  return {
    warm(count = 3) {
      if (answered >= count) return Promise.resolve();
      return new Promise((resolve) => countWaiters.push({ count: Math.min(count, 10), resolve }));
    },
    async stop() {
      worker.postMessage('stop');
      const samples = await done;
      await worker.terminate();
      return {
        samples,
        maxMs: samples.reduce((max, s) => Math.max(max, s.ms), 0),
        failures: samples.filter((s) => s.status !== 200),
      };
    },
  };
}
