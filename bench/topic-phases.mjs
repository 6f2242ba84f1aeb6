/**
 * The topic phases of `npm run bench -- --topics` (or `--topics-only`): topic broadcast
 * (topic-broadcast.mjs), then presence churn (presence-churn.mjs), each with its progress
 * lines; their rows under each setup, their summary table (one column per setup, for
 * README "Performance") and the problems a reader must not miss.
 */
import { presenceChurn, presenceChurnProblems } from './presence-churn.mjs';
import { KINDS, topicBroadcast, topicBroadcastProblems } from './topic-broadcast.mjs';

const int = (v) => Math.round(v).toLocaleString('en-US');
const ms = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
const us = (v) => (v === null || v === undefined ? 'n/a' : `${int(v)} µs`);

/** Stores each phase's figures in `result.topics` as it ends, so a failure keeps what was measured. */
export async function runTopicPhases(ctx, result) {
  const { opts, progress } = ctx;
  result.topics = {};
  if (opts.topicClients > 0) {
    const live = { text: async () => 'starting' };
    result.topics.broadcast = await progress.run('topic broadcast', () => topicBroadcast(ctx, live), live);
  }
  if (opts.presenceClients > 0) {
    const live = { text: async () => 'starting' };
    result.topics.presence = await progress.run('presence churn', () => presenceChurn(ctx, live), live);
  }
}

export function topicProblems(result) {
  return [...topicBroadcastProblems(result.topics?.broadcast), ...presenceChurnProblems(result.topics?.presence)];
}

const spread = (values) => `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;

/** Rows under the setup's table (same layout as report.mjs), '' when the phases did not run. */
export function formatTopicSetup(result) {
  const lines = [];
  const row = (name, value, detail) => lines.push(`   ${name.padEnd(36)} ${value}${detail ? `  (${detail})` : ''}`);
  const tb = result.topics?.broadcast;
  if (tb) {
    for (const kind of KINDS) {
      const rounds = tb.rounds.filter((r) => r.kind === kind);
      const h = tb[kind];
      const maxes = rounds.map((r) => `${r.max === null ? 'n/a' : r.max.toFixed(0)}${r.received === tb.clients ? '' : ` (${r.received} got it)`}`);
      row(kind === 'tenant' ? '  reference: tenant broadcast' : `topic ${kind} to ${int(tb.clients)} sockets`,
        h.medianMaxMs === null ? 'did not reach all sockets' : `reaches all within ${ms(h.medianMaxMs)} (median of ${h.rounds} rounds' max)`,
        `max per round ${maxes.join(', ')} ms; received ${spread(rounds.map((r) => r.received))} of ${tb.clients}; ` +
          `p50 ${ms(median(rounds.map((r) => r.p50)))}, p99 ${ms(median(rounds.map((r) => r.p99)))} (medians); ${h.duplicates} duplicates; ` +
          `gateway CPU per round ${rounds.map((r) => r.gatewayCpuMs.toFixed(0)).join(', ')} ms`);
    }
    row('  topic sockets', `${int(tb.clients)} connected holding the topic in ${(tb.connectMs / 1000).toFixed(1)} s`,
      `the gateway counts ${tb.holdersSeenByGateway === null ? 'n/a' : int(tb.holdersSeenByGateway)} holders`);
  }
  const pc = result.topics?.presence;
  if (pc) {
    for (const r of pc.rounds) {
      const watch = r.watch
        ? `; ${r.watch.perWatcherPerSec.min.toFixed(2)}-${r.watch.perWatcherPerSec.max.toFixed(2)} updates per watcher per second, ` +
          `shortest gap ${ms(r.watch.minGapMs)}; last count seen ${r.watch.lastSeen.min === r.watch.lastSeen.max ? r.watch.lastSeen.min : `${r.watch.lastSeen.min}-${r.watch.lastSeen.max}`}, ` +
          `true ${r.trueCount} (${r.watch.exact}/${pc.watchers} exact)`
        : `; true count at the end ${r.trueCount}`;
      row(`presence churn, ${r.watchers} watchers`, `${int(r.opsPerSec)} ops/s, gateway CPU ${us(r.cpuUsPerOp)} per op (net of idle ${us(r.netCpuUsPerOp)})`,
        `${int(r.joins)} joins + ${int(r.leaves)} leaves in ${r.seconds.toFixed(1)} s over ${int(pc.clients)} sockets; ack p50 ${ms(r.ack.p50)}, p99 ${ms(r.ack.p99)}; ` +
          `${r.errors + r.denied} failed; GET presence ${r.apiCount}${watch}`);
    }
    const c = pc.watcherCost;
    if (c.extraCpuMsPerSec !== null) {
      row(`  watcher updates (${pc.watchers} watchers)`, `${c.extraCpuMsPerSec.toFixed(1)} ms gateway CPU per second of churn, ${us(c.usPerUpdate)} per update`,
        `with − without watchers; CPU ms/s per round without ${c.cpuMsPerSecSpread.without.map((v) => v.toFixed(0)).join(', ')}, ` +
          `with ${c.cpuMsPerSecSpread.with.map((v) => v.toFixed(0)).join(', ')}; idle ${pc.idleCpuMsPerSec.toFixed(0)} ms/s; ${c.updatesPerSec.toFixed(1)} updates/s delivered`);
    }
  }
  return lines.length ? `\n${lines.join('\n')}` : '';
}

/** One column per setup that ran a topic phase; '' when none did. */
export function formatTopicSummary(results, opts) {
  const ran = results.filter((r) => !r.skipped && (r.topics?.broadcast || r.topics?.presence));
  if (ran.length === 0) return '';
  const cells = (fn) =>
    ran.map((r) => {
      try {
        return fn(r);
      } catch {
        return 'n/a';
      }
    });
  const reach = (h) => (h.medianMaxMs === null ? 'NOT all' : ms(h.medianMaxMs));
  const rows = [
    ['', ...ran.map((r) => r.name)],
    ...(ran.some((r) => r.topics.broadcast) ? [
      [`topic message reaches all ${int(opts.topicClients)} holders, durable (median of ${opts.topicRounds} rounds' max)`, ...cells((r) => reach(r.topics.broadcast.durable))],
      ['  transient', ...cells((r) => reach(r.topics.broadcast.transient))],
      ['  reference: tenant broadcast to the same sockets, same rounds', ...cells((r) => reach(r.topics.broadcast.tenant))],
      ['  gateway CPU per message, durable / transient / tenant (median)',
        ...cells((r) => KINDS.map((k) => int(r.topics.broadcast[k].medianGatewayCpuMs)).join(' / ') + ' ms')],
    ] : []),
    ...(ran.some((r) => r.topics.presence) ? [
      [`presence churn ops/s (asked ${int(opts.presenceRate)}, ${int(opts.presenceClients)} sockets)`, ...cells((r) => int(r.topics.presence.opsPerSec))],
      ['  gateway CPU per op, without / with watchers', ...cells((r) => `${us(r.topics.presence.cpuUsPerOp.without)} / ${us(r.topics.presence.cpuUsPerOp.with)}`)],
      [`  presence updates per watcher per second (max; ${opts.presenceWatchers} watchers)`, ...cells((r) => r.topics.presence.updatesPerWatcherPerSec.toFixed(2))],
      ['  last count seen = true count (every watcher, every round)', ...cells((r) => (r.topics.presence.exact === null ? 'n/a' : r.topics.presence.exact ? 'exact' : 'NOT exact'))],
      ['  watcher updates: extra gateway CPU per second of churn', ...cells((r) => `${r.topics.presence.watcherCost.extraCpuMsPerSec.toFixed(1)} ms`)],
    ] : []),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}

function median(values) {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}
