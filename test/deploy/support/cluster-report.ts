/**
 * Reading a cluster run: which sessions missed what (and what they saw around it),
 * delivery gaps, and the instance and nginx logs condensed for the printed report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Posted } from './notify-load.js';
import type { ReconnectingClient } from './reconnecting-client.js';

export interface Checked {
  label: string;
  recipientKey: string;
  client: ReconnectingClient;
}

export interface DeliveryCheck {
  /** Missing (not tolerated), foreign or out-of-order deliveries, one line per session. */
  problems: string[];
  tolerated: { missingDeliveries: number; sessions: string[] };
  /** Connection events and arrivals around a missed notification, for the first few. */
  timelines: string[];
}

/**
 * Every session must hold, after dedupe by id, exactly its recipient's notifications in
 * commit order (`expected`), nothing of anyone else's. Missing ones for which
 * `tolerate` holds are counted apart.
 */
export function checkDeliveries(
  sessions: readonly Checked[],
  expected: ReadonlyMap<string, readonly string[]>,
  byId: ReadonlyMap<string, Posted>,
  tolerate: (posted: Posted | undefined) => boolean,
  start: number,
): DeliveryCheck {
  const result: DeliveryCheck = { problems: [], tolerated: { missingDeliveries: 0, sessions: [] }, timelines: [] };
  for (const s of sessions) {
    const mine = expected.get(s.recipientKey) ?? [];
    const got = s.client.ids;
    const lost = mine.filter((id) => !s.client.seen.has(id));
    const excused = lost.filter((id) => tolerate(byId.get(id)));
    const missing = lost.filter((id) => !excused.includes(id));
    const foreign = got.filter((id) => !mine.includes(id));
    const ours = got.filter((id) => mine.includes(id));
    const outOfOrder = ours.some((id, i) => i > 0 && mine.indexOf(id) < mine.indexOf(ours[i - 1]!));
    if (excused.length) {
      result.tolerated.missingDeliveries += excused.length;
      result.tolerated.sessions.push(`${s.label} (${excused.length})`);
    }
    if (missing.length || foreign.length || outOfOrder) {
      const phases = [...new Set(missing.map((id) => byId.get(id)?.phase))].join(',');
      result.problems.push(
        `${s.label}: missing ${missing.length} (posted in ${phases || '-'}), foreign ${foreign.length}, ` +
          `out of order ${outOfOrder}, disconnects ${s.client.disconnects.length}`,
      );
    }
    const first = missing[0] ?? excused[0];
    if (first && result.timelines.length < 3) result.timelines.push(sessionTimeline(s, byId.get(first)!, byId, start));
  }
  return result;
}

function sessionTimeline(s: Checked, missed: Posted, byId: ReadonlyMap<string, Posted>, start: number): string {
  const from = missed.postedAt - 3000;
  const to = missed.committedAt + 3000;
  const arrivals = s.client.arrivals
    .filter((a) => a.at >= from && a.at <= to)
    .map((a) => ({ at: a.at, event: `got #${byId.get(a.id)?.seq}` }));
  const events = [...s.client.log.filter((e) => e.at >= from && e.at <= to), ...arrivals].sort((a, b) => a.at - b.at);
  return [
    `${s.label} missed #${missed.seq} (${missed.phase}) posted +${missed.postedAt - start} committed +${missed.committedAt - start}:`,
    ...events.map((e) => `    +${e.at - start} ${e.event}`),
  ].join('\n');
}

/** Longest pause between consecutive first arrivals (all sessions merged) in a window. */
export function longestGap(sessions: readonly Checked[], from: number, to: number): number {
  const times = sessions.flatMap((s) => s.client.arrivals.map((a) => a.at)).filter((t) => t >= from && t <= to);
  times.sort((a, b) => a - b);
  return times.reduce((gap, t, i) => (i === 0 ? gap : Math.max(gap, t - times[i - 1]!)), 0);
}

export function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function readLogs(dir: string, app: string): string {
  return ['out', 'error']
    .map((stream) => {
      try {
        return readFileSync(join(dir, `${app}.${stream}.log`), 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
}

/** Instance log lines worth reading next to the measurements (pino JSON), with the test's marks. */
export function instanceEvents(dir: string, apps: readonly string[], marks: Record<string, number>): string {
  const interesting = /resync|restored|shutting|lease|listening|deadline|failed/i;
  const start = marks.start ?? 0;
  const events: { time: number; line: string }[] = Object.entries(marks).map(([name, time]) => ({ time, line: `-- ${name}` }));
  const noise = new Map<string, number>(); // expected while Redis is down: counted, not listed
  for (const app of apps) {
    for (const raw of readLogs(dir, app).split('\n')) {
      if (!raw.trim()) continue;
      let entry: { time: number; level: number; msg: string; err?: unknown };
      try {
        entry = JSON.parse(raw) as typeof entry;
      } catch {
        noise.set(`${app} ${raw.slice(0, 120)}`, (noise.get(`${app} ${raw.slice(0, 120)}`) ?? 0) + 1);
        continue;
      }
      if (/redis (publish failed|connection error)/.test(entry.msg)) {
        noise.set(`${app} ${entry.msg}`, (noise.get(`${app} ${entry.msg}`) ?? 0) + 1);
      } else if (entry.level >= 40 || interesting.test(entry.msg)) {
        const err = entry.err ? ` ${JSON.stringify(entry.err).slice(0, 120)}` : '';
        events.push({ time: entry.time, line: `${app} ${entry.msg}${err}` });
      }
    }
  }
  events.sort((a, b) => a.time - b.time);
  return [
    ...events.slice(-100).map((e) => `  +${e.time - start}ms ${e.line}`),
    ...[...noise].map(([line, n]) => `  (×${n}) ${line}`),
  ].join('\n');
}

/** Apps whose graceful shutdown ran into the gateway's deadline (src/main.ts). */
export function shutdownDeadlineHits(dir: string, apps: readonly string[]): string[] {
  return apps
    .map((app) => {
      const hits = readLogs(dir, app).split('shutdown deadline passed').length - 1;
      return hits ? `${app} ×${hits}` : '';
    })
    .filter(Boolean);
}

/** nginx error-log lines counted by message, e.g. refused upstream connections. */
export function nginxSummary(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, level, message] of log.matchAll(/\[(error|warn|crit|alert)\] \d+#\d+: (?:\*\d+ )?([^,(]+)/g)) {
    const key = `${level}: ${message!.trim()}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
