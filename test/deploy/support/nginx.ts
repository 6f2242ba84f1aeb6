/**
 * Runs the repository's nginx site for real: the site file as it is (only `listen 80`
 * moved to a free loopback port), the upstream file with its server addresses swapped
 * for the test's, and a main config whose every writable path is under a temp prefix,
 * so no root and no /var paths are needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRepoFile, run } from './repo.js';
import { waitUntil } from './wait.js';

export function renderSite(listenPort: number): string {
  const site = readRepoFile('nginx', 'notify-gateway.conf');
  const listens = site.match(/^\s*listen\s+80;/gm) ?? [];
  if (listens.length !== 1) throw new Error('nginx/notify-gateway.conf must have exactly one "listen 80;"');
  return site.replace(/^(\s*)listen\s+80;/m, `$1listen 127.0.0.1:${listenPort};`);
}

/** nginx/upstream.conf with the i-th server address replaced by `addresses[i]`. */
export function renderUpstream(addresses: readonly string[]): string {
  const upstream = readRepoFile('nginx', 'upstream.conf');
  let i = 0;
  const rendered = upstream.replace(/^(\s*server\s+)\S+:\d+/gm, (_all, prefix: string) => {
    const address = addresses[i++];
    if (!address) throw new Error('nginx/upstream.conf lists more servers than the test started');
    return `${prefix}${address}`;
  });
  if (i !== addresses.length) throw new Error(`nginx/upstream.conf lists ${i} servers, the test started ${addresses.length}`);
  return rendered;
}

export interface RunningNginx {
  url: string;
  port: number;
  prefix: string;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<void>;
}

function mainConfig(prefix: string): string {
  // Site before upstream, as in the nginx image where conf.d/*.conf is included in
  // alphabetical order (default.conf, upstream.conf): proves the order does not matter.
  return `worker_processes 1;
error_log ${prefix}/error.log info;
events { worker_connections 1024; }
http {
    # Status, upstream tried and its answer: what a test reads when nginx answered 5xx.
    log_format upstreams '$status $request_method $uri $upstream_addr $upstream_status $request_time $msec';
    access_log ${prefix}/access.log upstreams;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    include ${prefix}/site.conf;
    include ${prefix}/upstream.conf;
}
`;
}

function argsFor(prefix: string): string[] {
  return ['-p', prefix, '-e', `${prefix}/error.log`, '-c', `${prefix}/nginx.conf`];
}

/** Writes the config to a temp prefix and runs `nginx -t` on it. */
export async function prepareNginx(site: string, upstream: string): Promise<{ prefix: string; test: string }> {
  const prefix = mkdtempSync(join(tmpdir(), 'notify-nginx-'));
  // Workers drop to an unprivileged user when started as root; they must reach the prefix.
  chmodSync(prefix, 0o755);
  writeFileSync(join(prefix, 'site.conf'), site);
  writeFileSync(join(prefix, 'upstream.conf'), upstream);
  writeFileSync(join(prefix, 'nginx.conf'), mainConfig(prefix));
  const result = await run('nginx', ['-t', ...argsFor(prefix), '-g', `pid ${prefix}/nginx.pid;`]);
  if (result.code !== 0) throw new Error(`nginx -t failed:\n${result.stderr}`);
  return { prefix, test: result.stderr };
}

export async function startNginx(site: string, upstream: string, port: number): Promise<RunningNginx> {
  const { prefix } = await prepareNginx(site, upstream);
  const child: ChildProcess = spawn('nginx', [...argsFor(prefix), '-g', `daemon off; pid ${prefix}/nginx.pid;`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readLog = (name: string) => () => {
    try {
      return readFileSync(join(prefix, name), 'utf8');
    } catch {
      return '';
    }
  };
  const errorLog = readLog('error.log');
  try {
    await waitUntil(() => child.exitCode === null && accepts(port), `nginx on port ${port}`, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}\n${errorLog()}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    prefix,
    errorLog,
    accessLog: readLog('access.log'),
    async stop() {
      // SIGTERM is nginx's fast shutdown; SIGQUIT would wait for open WebSockets.
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
