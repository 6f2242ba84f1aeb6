/**
 * The production topology for real: ecosystem.config.js under pm2 (4 instances) behind
 * nginx/, on MariaDB and a private Redis. Clients connect through nginx over WebSocket
 * and over long-polling only, and directly to instances; notifications are POSTed to
 * every instance and through nginx while the relay leader is SIGKILLed, the cluster is
 * `pm2 reload`ed and Redis is restarted. Every notification must reach every session of
 * its recipient exactly once after id dedupe, in the recipient's commit order, and
 * nobody else. Prints takeover time, delivery gap and counts.
 *
 * Needs MariaDB/MySQL (TEST_MYSQL_URL), nginx and redis-server: vitest.config.ts leaves
 * this file out (loudly) on a machine without them, never under CI=true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase } from '../support/drivers.js';
import { API_KEY, JWT_SECRET, userToken } from '../support/harness.js';
import { ensureBuilt } from './support/build.js';
import { checkDeliveries, countBy, instanceEvents, longestGap, nginxSummary, shutdownDeadlineHits } from './support/cluster-report.js';
import { renderSite, renderUpstream, startNginx, type RunningNginx } from './support/nginx.js';
import { NotifyLoad, type Recipient } from './support/notify-load.js';
import { Pm2 } from './support/pm2.js';
import { freePort, freePortRange } from '../support/ports.js';
import { ReconnectingClient } from './support/reconnecting-client.js';
import { RedisServer } from '../support/redis-server.js';
import { repoPath } from './support/repo.js';
import { fromAddress, loopbackAddress } from './support/source-address.js';
import { pace, waitUntil } from './support/wait.js';

const INSTANCES = 4;
const LOAD_INTERVAL_MS = 120;
/** After Redis is back, load keeps flowing this long past "every instance ready". */
const REDIS_SLACK_MS = 1000;


interface Session {
  recipient: Recipient;
  recipientKey: string;
  label: string;
  route: string;
  client: ReconnectingClient;
}

let pm2: Pm2 | undefined;
let nginx: RunningNginx | undefined;
let redis: RedisServer | undefined;
let db: { url: string; drop(): Promise<void> } | undefined;
let ports: number[] = [];
let load: NotifyLoad;
const sessions: Session[] = [];
const report: Record<string, unknown> = {};
/** Wall-clock marks of the chaos steps, for the timeline in the report. */
const marks: Record<string, number> = {};

const instanceUrl = (port: number) => `http://127.0.0.1:${port}`;
const apps = Array.from({ length: INSTANCES }, (_, i) => `notify-${i}`);
const ecosystem = repoPath('ecosystem.config.js');

async function metric(port: number, name: string): Promise<number | null> {
  const res = await fetch(`${instanceUrl(port)}/metrics`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
  if (!res?.ok) return null;
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : null;
}

async function readiness(port: number): Promise<{ status: number; checks?: Record<string, string> }> {
  const res = await fetch(`${instanceUrl(port)}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
  if (!res) return { status: 0 };
  return { ...((await res.json()) as { checks?: Record<string, string> }), status: res.status };
}

const allReady = async () => (await Promise.all(ports.map(readiness))).every((r) => r.status === 200);

async function leaderPorts(): Promise<number[]> {
  const flags = await Promise.all(ports.map((p) => metric(p, 'notify_relay_leader')));
  return ports.filter((_, i) => flags[i] === 1);
}

/** Waits until every session holds everything (that `counts`) its recipient was sent. */
async function converged(timeoutMs: number, counts: (id: string) => boolean = () => true): Promise<void> {
  await waitUntil(
    () => sessions.every((s) => (load.expected.get(s.recipientKey) ?? []).every((id) => !counts(id) || s.client.seen.has(id))),
    'every session to hold every notification of its recipient',
    timeoutMs,
    50,
  );
}

describe('production cluster: pm2 × 4 behind nginx, MariaDB, Redis', () => {
  beforeAll(async () => {
    await ensureBuilt();
    marks.start = Date.now();
    db = await createMysqlDatabase('notify_cluster_');
    redis = await RedisServer.start();
    const basePort = await freePortRange(INSTANCES);
    ports = Array.from({ length: INSTANCES }, (_, i) => basePort + i);
    pm2 = new Pm2({
      NOTIFY_INSTANCES: String(INSTANCES),
      NOTIFY_BASE_PORT: String(basePort),
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `cluster${basePort}`,
      JWT_SECRET,
      NOTIFY_API_KEYS: API_KEY,
      LOG_LEVEL: 'info',
    });
    // All four at once: nothing is serving yet, so no need to roll (pm2 waits listen_timeout per app).
    await pm2.run(['start', ecosystem, '--env', 'production'], 60_000, { PM2_CONCURRENT_ACTIONS: String(INSTANCES) });
    await waitUntil(allReady, 'all instances ready', 30_000, 100).catch(async (error: Error) => {
      const states = (await pm2!.list()).map((p) => `${p.name}:${p.status}/${p.restarts}`).join(' ');
      throw new Error(`${error.message}; pm2: ${states}\n${instanceEvents(pm2!.logDir, apps, marks)}`);
    });
    const nginxPort = await freePort();
    nginx = await startNginx(renderSite(nginxPort), renderUpstream(ports.map((p) => `127.0.0.1:${p}`)), nginxPort);

    // Two users share a user id in different tenants; an observer is never notified.
    const recipients: Recipient[] = Array.from({ length: 8 }, (_, i) => {
      const tenantId = i % 2 === 0 ? 'acme' : 'globex';
      const userId = i < 2 ? 'same-name' : `user-${i}`;
      return { key: `${tenantId}/${userId}`, tenantId, userId };
    });
    const observer: Recipient = { key: 'acme/observer', tenantId: 'acme', userId: 'observer' };
    let address = 0;
    for (const [i, recipient] of [...recipients, observer].entries()) {
      const token = userToken(recipient.userId, recipient.tenantId);
      const open = (route: string, url: string, transport: 'websocket' | 'polling', extra = {}) => {
        const label = `${recipient.key} ${route}`;
        const client = new ReconnectingClient(label, url, token, transport, extra);
        sessions.push({ recipient, recipientKey: recipient.key, label, route, client });
      };
      open('nginx websocket', nginx.url, 'websocket', fromAddress(loopbackAddress(address++)));
      open('nginx polling', nginx.url, 'polling', fromAddress(loopbackAddress(address++)));
      open(`direct :${ports[i % INSTANCES]}`, instanceUrl(ports[i % INSTANCES]!), 'websocket');
    }
    await Promise.all(sessions.map((s) => s.client.synced()));
    const targets = [...ports.map(instanceUrl), nginx.url];
    load = new NotifyLoad(targets, recipients);
  }, 240_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    for (const s of sessions) s.client.close();
    const logs = pm2 ? instanceEvents(pm2.logDir, apps, marks) : '';
    if (nginx) {
      report.nginxErrors = nginxSummary(nginx.errorLog());
      report.nginx5xx = nginx.accessLog().split('\n').filter((l) => /^5\d\d /.test(l)).slice(0, 20);
    }
    await pm2?.kill();
    await nginx?.stop();
    await redis?.destroy();
    await db?.drop().catch(() => undefined);
    console.log(`\ncluster test measurements:\n${JSON.stringify(report, null, 2)}\ninstance log timeline:\n${logs}`);
  }, 60_000);

  it('spreads websocket and polling sessions over all instances and delivers to each', async () => {
    load.phase = 'baseline';
    await Promise.all([...load.expected.keys()].map(async (key) => {
      const recipient = sessions.find((s) => s.recipientKey === key)!.recipient;
      for (let n = 0; n < INSTANCES + 1; n++) await load.post(recipient); // rotates over every instance and nginx
    }));
    await converged(15_000);
    const perInstance = await Promise.all(ports.map((p) => metric(p, 'notify_connected_sockets')));
    report.socketsPerInstance = Object.fromEntries(ports.map((p, i) => [p, perInstance[i]]));
    expect(perInstance.every((n) => (n ?? 0) > 0)).toBe(true);
    expect(perInstance.reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(sessions.length);
    expect(sessions.filter((s) => s.route === 'nginx polling').every((s) => s.client.socket.io.engine.transport.name === 'polling')).toBe(true);
  }, 30_000);

  it('fails over when the relay leader is killed with SIGKILL, within a few seconds', async () => {
    load.phase = 'leader-kill';
    load.start(LOAD_INTERVAL_MS);
    await waitUntil(() => load.posted.filter((p) => p.phase === 'leader-kill').length >= 20, 'load to flow', 10_000);
    const [leader] = await leaderPorts();
    expect(leader).toBeDefined();
    const victim = (await pm2!.list()).find((p) => p.port === leader)!;
    const killedAt = (marks.leaderKilled = Date.now());
    process.kill(victim.pid, 'SIGKILL');
    // Takeover: the first notification POSTed after the kill that reaches a session.
    const firstAfterKill = () => {
      const arrivals = load.postedSince(killedAt).flatMap((p) =>
        sessions.flatMap((s) => s.client.arrivals.filter((a) => a.id === p.id).map((a) => a.at)),
      );
      return arrivals.length ? Math.min(...arrivals) : null;
    };
    await waitUntil(() => firstAfterKill() !== null, 'a notification posted after the kill to arrive', 20_000);
    const takeoverMs = firstAfterKill()! - killedAt;
    await waitUntil(async () => (await leaderPorts()).length === 1, 'one leader again', 10_000);
    await waitUntil(allReady, 'the killed instance to be restarted by pm2', 30_000, 100);
    report.leaderKill = {
      killedPort: leader,
      newLeaderPort: (await leaderPorts())[0],
      takeoverMs,
      longestDeliveryGapMs: longestGap(sessions, killedAt - 2000, killedAt + takeoverMs + 2000),
      postedBeforeTakeover: load.posted.filter((p) => p.postedAt >= killedAt && p.postedAt <= killedAt + takeoverMs).length,
    };
    expect(takeoverMs).toBeLessThan(10_000);
  }, 60_000);

  it('keeps every instance on its port through `pm2 reload ecosystem.config.js` under load', async () => {
    load.phase = 'reload';
    const leaderBefore = (await leaderPorts())[0];
    const started = (marks.reload = Date.now());
    // Sample how many instances are down at once while pm2 rolls through them.
    let sampling = true;
    let maxDown = 0;
    const sampler = (async () => {
      while (sampling) {
        const up = await Promise.all(ports.map((p) => fetch(`${instanceUrl(p)}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)));
        maxDown = Math.max(maxDown, up.filter((ok) => !ok).length);
        await pace(100);
      }
    })();
    // As ecosystem.config.js documents it: one instance at a time (pm2's default is two).
    await pm2!.run(['reload', ecosystem, '--env', 'production'], 90_000, { PM2_CONCURRENT_ACTIONS: '1' });
    await waitUntil(allReady, 'all instances ready after reload', 30_000, 100);
    sampling = false;
    await sampler;
    expect((await pm2!.list()).map((p) => p.port)).toEqual(ports);
    report.reload = {
      durationMs: Date.now() - started,
      longestDeliveryGapMs: longestGap(sessions, started, Date.now()),
      maxInstancesDownAtOnce: maxDown,
      leaderBeforeReload: `notify-${ports.indexOf(leaderBefore ?? -1)}`,
    };
    expect(maxDown).toBeLessThan(INSTANCES);
  }, 120_000);

  it('rides out a Redis restart: /readyz reports it, POSTs succeed or answer 503', async () => {
    load.phase = 'redis-down';
    const stoppedAt = (marks.redisStopped = Date.now());
    await redis!.stop();
    await waitUntil(
      async () => (await Promise.all(ports.map(readiness))).every((r) => r.status === 503 && r.checks?.redis === 'down'),
      '/readyz to report Redis down on every instance',
      10_000,
    );
    const postedDuringOutage = load.posted.length;
    await waitUntil(() => load.posted.length >= postedDuringOutage + 30, 'POSTs to commit while Redis is down', 15_000);
    load.phase = 'redis-back';
    marks.redisRestarted = Date.now();
    await redis!.restart();
    const readyIn = await waitUntil(allReady, 'every instance ready with Redis back', 20_000, 100);
    const backAt = (marks.redisReady = Date.now());
    // Delivery must have resumed for everyone: these are checked like any other.
    const settled = () => load.posted.filter((p) => p.committedAt > backAt + REDIS_SLACK_MS);
    await waitUntil(() => settled().length >= 40, 'POSTs once Redis is settled', 20_000);
    await load.stop();
    report.redisRestart = {
      downMs: backAt - stoppedAt,
      readyAfterRestartMs: readyIn,
      postedWhileDown: load.posted.filter((p) => p.phase === 'redis-down').length,
      checkedAfterRedisSettled: settled().length,
    };
  }, 90_000);

  it('delivered every notification exactly once (after dedupe), in per-user order, to its user only', async () => {
    const byId = new Map(load.posted.map((p) => [p.id, p]));
    // Nothing is excused: notifications committed while Redis was down, or as it came
    // back, must reach every session too (held from the outage, replayed on restore).
    await converged(20_000).catch(() => undefined);
    const check = checkDeliveries(sessions, load.expected, byId, () => false, marks.start!);

    const sessionsOf = (key: string) => sessions.filter((s) => s.recipientKey === key).length;
    report.counts = {
      notifications: load.posted.length,
      byPhase: countBy(load.posted.map((p) => p.phase)),
      deliveriesExpected: load.posted.reduce((n, p) => n + sessionsOf(p.recipient.key), 0),
      deliveriesReceived: sessions.reduce((n, s) => n + s.client.arrivals.length, 0),
      duplicatesDropped: sessions.reduce((n, s) => n + s.client.duplicates, 0),
      reconnects: sessions.reduce((n, s) => n + s.client.connects - 1, 0),
      postStatuses: Object.fromEntries(load.statuses),
      retriesAnsweredFromDedupeKey: load.statuses.get('200') ?? 0,
      rejections: load.rejections.map((r) => `${r.phase} ${r.status} ${r.target === nginx!.url ? 'nginx' : r.target}`),
      sessions: sessions.length,
    };
    report.problems = check.problems;
    report.redisOutageGap = check.tolerated;
    if (check.timelines.length) console.log(`around a missed notification (ms from start):\n${check.timelines.join('\n')}`);

    // 503 is the gateway's "storage unavailable, retry"; a 502 from nginx is what a POST
    // gets when its instance is SIGKILLed mid-request — or, rarely, during `pm2 reload`,
    // when nginx hands it to an instance in the instant its listening socket closes (the
    // connection sits in the kernel's accept queue, then is reset; nginx does not retry a
    // POST it has sent). The retry carries the same dedupe key, so either way nothing is
    // half-written or written twice: the delivery check below proves it.
    const viaNginx502 = (phase: string) => (r: (typeof load.rejections)[number]) =>
      r.status === 502 && r.phase === phase && r.target === nginx!.url;
    const unexpected = load.rejections.filter((r) => r.status !== 503 && !viaNginx502('leader-kill')(r) && !viaNginx502('reload')(r));
    expect(unexpected, 'POSTs answered other than 2xx, 503, or 502 for a killed or reloading instance').toEqual([]);
    const reloadPosts = load.posted.filter((p) => p.phase === 'reload').length;
    expect(load.rejections.filter(viaNginx502('reload')).length, 'reload 502s beyond a rare race').toBeLessThanOrEqual(Math.max(2, reloadPosts / 100));
    expect(shutdownDeadlineHits(pm2!.logDir, apps), 'instances that needed the 10 s shutdown deadline').toEqual([]);
    expect(check.problems).toEqual([]);
    expect(check.tolerated.missingDeliveries).toBe(0);
  }, 60_000);
});
