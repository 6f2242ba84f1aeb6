/**
 * A real Prometheus server (Debian package "prometheus") on a free loopback port, with a
 * throwaway config and TSDB: it scrapes the given targets as job `notify-gateway` at a
 * short interval, loads the given rule files, and answers the HTTP API the dashboard's
 * Grafana datasource would call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/ports.js';
import { until } from '../../support/until.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromRule {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

export interface PrometheusServer {
  url: string;
  /** `/api/v1/query`: the instant vector, or the error Prometheus gave (a parse error, say). */
  query(expr: string): Promise<{ ok: true; result: PromSample[] } | { ok: false; error: string }>;
  /** `/api/v1/label/<name>/values?match[]=<selector>`: what a `label_values()` variable lists. */
  labelValues(name: string, selector: string): Promise<string[]>;
  /** `/api/v1/rules`: every loaded rule with its health after the last evaluation. */
  rules(): Promise<PromRule[]>;
  /** Resolves once every target has been scraped again after this call (`up` newer than now). */
  scrapedAfterNow(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of each gateway instance. */
  targets: string[];
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval; 1s keeps tests short. */
  intervalSeconds?: number;
}

export const SCRAPE_JOB = 'notify-gateway';

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'notify-prometheus-'));
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [{ job_name: SCRAPE_JOB, static_configs: [{ targets: options.targets }] }],
  };
  // JSON is valid YAML: no YAML writer needed.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((gone = true), resolve())));

  const api = async <T>(path: string): Promise<{ status: string; data: T; error?: string }> => {
    const response = await fetch(`${url}${path}`);
    return (await response.json()) as { status: string; data: T; error?: string };
  };

  const server: PrometheusServer = {
    url,
    async query(expr) {
      const body = await api<{ resultType: string; result: PromSample[] | [number, string] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (body.status !== 'success') return { ok: false, error: body.error ?? JSON.stringify(body) };
      // A scalar expression answers one value, not a vector: treat it as one sample.
      const { resultType, result } = body.data;
      return { ok: true, result: resultType === 'vector' ? (result as PromSample[]) : [{ metric: {}, value: result as [number, string] }] };
    },
    async labelValues(name, selector) {
      return (await api<string[]>(`/api/v1/label/${name}/values?match[]=${encodeURIComponent(selector)}`)).data;
    },
    async rules() {
      const body = await api<{ groups: { rules: PromRule[] }[] }>('/api/v1/rules');
      return body.data.groups.flatMap((group) => group.rules);
    },
    async scrapedAfterNow(timeoutMs = 20_000) {
      const now = Date.now() / 1000;
      await until(
        async () => {
          const targets = await api<{ activeTargets: { lastScrape: string; health: string }[] }>('/api/v1/targets');
          const active = targets.data.activeTargets;
          return active.length === options.targets.length && active.every((t) => t.health === 'up' && Date.parse(t.lastScrape) / 1000 > now);
        },
        'a scrape of every target',
        timeoutMs,
        100,
      );
    },
    async close() {
      if (!gone) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Ready, or gone (a bad flag, a port taken meanwhile): whichever comes first.
  const ready = until(async () => (await fetch(`${url}/-/ready`)).ok, 'prometheus to be ready', 30_000, 100);
  ready.catch(() => undefined);
  try {
    await Promise.race([ready, exited.then(() => Promise.reject(new Error('it exited')))]);
  } catch (error) {
    await server.close();
    throw new Error(`prometheus did not start: ${String(error)}\n${log}`);
  }
  return server;
}
