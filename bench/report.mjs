/** Plain-text tables for the terminal (and for pasting into the README / an issue). */
const ms = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
const int = (v) => Math.round(v).toLocaleString('en-US');
const kb = (v) => `${v.toFixed(1)} KB`;
const groupCommits = (ing) =>
  ing.groupCommits > 0 ? `${int(ing.groupCommits)} group commits, ${ing.meanGroupCommitSize.toFixed(1)} per commit` : 'no group commits';

export function formatSetup(result, opts) {
  const processes = `${result.instances} process${result.instances > 1 ? 'es' : ''}`;
  const load = result.loadavg ? `; load average ${result.loadavg.map((l) => l.toFixed(2)).join(' ')}` : '';
  const lines = [`== ${result.label}  (${processes}, ${opts.clients} clients${load})`];
  if (result.skipped) return [...lines, `   SKIPPED: ${result.skipped}`].join('\n');
  if (result.error) lines.push(`   FAILED: ${result.error}`);
  const row = (name, value, detail) => lines.push(`   ${name.padEnd(36)} ${value}${detail ? `  (${detail})` : ''}`);
  const { rss, latency: lat, ingest: ing, deliveries: del, replay: rep, naive } = result;
  if (rss) {
    const mb = (k) => int(k / 1024);
    row('RSS per idle connected socket', kb(rss.perSocketKb),
      `${mb(rss.beforeKb)} → ${mb(rss.afterKb)} MB for ${rss.sockets} sockets; connecting took ${int(rss.connectMs)} ms`);
  }
  if (lat) {
    row(`POST→receipt, ${lat.posted} @ ${lat.rate}/s`,
      `p50 ${ms(lat.p50)}  p95 ${ms(lat.p95)}  p99 ${ms(lat.p99)}  max ${ms(lat.max)}`,
      `${lat.unique}/${lat.committed} received`);
  }
  if (ing) {
    row(`ingest, ${ing.concurrency} concurrent, ${ing.seconds.toFixed(1)} s`, `${int(ing.committedPerSec)} notifications/s committed`,
      `${int(ing.committed)} × 201 of ${int(ing.posted)}; ${groupCommits(ing)}; gateway CPU ${ms(ing.gatewayCpuMsPerNotification)} each`);
  }
  if (del) {
    row('deliveries during ingest', `${int(del.perSec)}/s`,
      `${int(del.unique)}/${int(del.expected)} delivered, the last ${int(del.drainMsAfterLastPost)} ms after the last POST; ` +
        `POST→receipt p50 ${ms(del.latencyUnderLoad.p50)}, p99 ${ms(del.latencyUnderLoad.p99)} under this load`);
  }
  if (rep) {
    const rounds = rep.rounds.map((r) => r.totalMs.toFixed(0)).join(', ');
    const counts = rep.rounds.map((r) => `${r.replayed}/${r.missed}`).join(', ');
    row(`reconnect + replay, ${rep.missed} missed`, `median ${ms(rep.medianTotalMs)}`, `rounds ${rounds} ms; replayed ${counts}`);
  }
  if (naive?.available) {
    row('naive path: 1 tx per notification', `${int(naive.ingest.committedPerSec)} notifications/s committed → batched is ${naive.ratio.toFixed(1)}×`,
      `same ingest phase on fresh gateways with WRITE_BATCHING=false; ${int(naive.deliveries.unique)}/${int(naive.deliveries.expected)} delivered; ` +
        `gateway CPU ${ms(naive.ingest.gatewayCpuMsPerNotification)} each`);
  } else if (naive) {
    row('naive path: 1 tx per notification', `not compared: ${naive.reason}`);
  }
  return lines.join('\n');
}

/** One column per setup, for the README's "Performance" table. */
export function formatSummary(results, opts) {
  const ran = results.filter((r) => !r.skipped && r.latency);
  if (ran.length === 0) return '';
  const cells = (fn) =>
    ran.map((r) => {
      try {
        return fn(r);
      } catch {
        return 'n/a'; // the setup failed before this phase
      }
    });
  const rows = [
    ['', ...ran.map((r) => r.name)],
    [`POST→receipt p50 (${opts.rate}/s)`, ...cells((r) => ms(r.latency.p50))],
    [`POST→receipt p95 (${opts.rate}/s)`, ...cells((r) => ms(r.latency.p95))],
    [`POST→receipt p99 (${opts.rate}/s)`, ...cells((r) => ms(r.latency.p99))],
    ['ingest committed/s', ...cells((r) => int(r.ingest.committedPerSec))],
    ['deliveries/s', ...cells((r) => int(r.deliveries.perSec))],
    ['gateway CPU per notification', ...cells((r) => ms(r.ingest.gatewayCpuMsPerNotification))],
    ['naive path committed/s', ...cells((r) => (r.naive?.available ? int(r.naive.ingest.committedPerSec) : 'n/a'))],
    ['batched ÷ naive', ...cells((r) => (r.naive?.available ? `${r.naive.ratio.toFixed(1)}×` : 'n/a'))],
    ['RSS per idle socket', ...cells((r) => kb(r.rss.perSocketKb))],
    [`replay ${opts.missed} missed (median)`, ...cells((r) => ms(r.replay.medianTotalMs))],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}
