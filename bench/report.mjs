/** Plain-text tables for the terminal (and for pasting into the README / an issue). */
const ms = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
const int = (v) => Math.round(v).toLocaleString('en-US');
const kb = (v) => `${v.toFixed(1)} KB`;
const s = (v) => (v === null || v === undefined ? 'n/a' : v < 10_000 ? `${int(v)} ms` : `${(v / 1000).toFixed(1)} s`);
const times = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)}×`);
const groupCommits = (ing) =>
  ing.groupCommits > 0 ? `${int(ing.groupCommits)} group commits, ${ing.meanGroupCommitSize.toFixed(1)} per commit` : 'no group commits';

export function formatSetup(result, opts) {
  const processes = `${result.instances} process${result.instances > 1 ? 'es' : ''}`;
  const load = result.loadavg ? `; load average ${result.loadavg.map((l) => l.toFixed(2)).join(' ')}` : '';
  const lines = [`== ${result.label}  (${processes}, ${opts.clients} clients${load})`];
  if (result.skipped) return [...lines, `   SKIPPED: ${result.skipped}`].join('\n');
  if (result.error) lines.push(`   FAILED: ${result.error}`);
  const row = (name, value, detail) => lines.push(`   ${name.padEnd(36)} ${value}${detail ? `  (${detail})` : ''}`);
  const { rss, latency: lat, ingest: ing, deliveries: del, batch, replay: rep, broadcast: bc, naive } = result;
  const mb = (k) => int(k / 1024);
  const rssRow = (r) => row(`RSS per idle connected socket (N=${r.sockets})`, kb(r.perSocketKb),
    `${mb(r.beforeKb)} → ${mb(r.afterKb)} MB; connecting took ${int(r.connectMs)} ms`);
  if (rss) rssRow(rss);
  if (bc?.rss) rssRow(bc.rss);
  if (lat) {
    const how = lat.postMode === 'batch' ? `batches of ${lat.itemsPerRequest} every 10 ms` : 'single POSTs';
    row(`POST→receipt, ${lat.posted} @ ${lat.rate}/s`,
      `p50 ${ms(lat.p50)}  p95 ${ms(lat.p95)}  p99 ${ms(lat.p99)}  max ${ms(lat.max)}`,
      `${how}; ${lat.unique}/${lat.committed} received by ${lat.clients} clients`);
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
  if (batch) batchRows(row, 'batch ingest', batch);
  if (rep) {
    const rounds = rep.rounds.map((r) => r.totalMs.toFixed(0)).join(', ');
    const counts = rep.rounds.map((r) => `${r.replayed}/${r.missed}`).join(', ');
    row(`reconnect + replay, ${rep.missed} missed`, `median ${ms(rep.medianTotalMs)}`, `rounds ${rounds} ms; replayed ${counts}`);
  }
  if (bc) {
    const rounds = bc.rounds.map((r) => `${r.max === null ? 'n/a' : r.max.toFixed(0)}${r.received === bc.clients ? '' : ` (${r.received} got it)`}`);
    const received = bc.rounds.map((r) => r.received);
    row(`tenant broadcast to ${int(bc.clients)} sockets`,
      bc.medianMaxMs === null ? 'did not reach all sockets' : `reaches all within ${ms(bc.medianMaxMs)} (median of ${bc.rounds.length} rounds' max)`,
      `max per round ${rounds.join(', ')} ms; received ${Math.min(...received)}-${Math.max(...received)} of ${bc.clients}; ` +
        `p50 ${ms(median(bc.rounds.map((r) => r.p50)))}, p99 ${ms(median(bc.rounds.map((r) => r.p99)))} (medians)`);
  }
  if (naive?.ingest) {
    const verdict = naive.available ? ` → batched is ${times(naive.ratio)}` : '';
    row('naive path: 1 tx per notification', `${int(naive.ingest.committedPerSec)} notifications/s committed${verdict}`,
      `single POSTs on fresh gateways with WRITE_BATCHING=false; ${int(naive.deliveries.unique)}/${int(naive.deliveries.expected)} delivered; ` +
        `gateway CPU ${ms(naive.ingest.gatewayCpuMsPerNotification)} each`);
  }
  if (naive?.batch) {
    batchRows(row, 'naive batch ingest', naive.batch);
    if (naive.available) {
      row('batch ingest, batched ÷ naive', `${times(naive.batchRatio)} (same batch requests)`,
        `${times(naive.batchVsNaiveSingle)} against naive single POSTs`);
    }
  }
  if (naive && !naive.available) row('naive path', `not compared: ${naive.reason}`);
  return lines.join('\n');
}

function batchRows(row, name, b) {
  row(`${name}, ${b.lanes} lanes × ${b.batchSize}, ${b.seconds.toFixed(1)} s`, `${int(b.committedPerSec)} notifications/s committed`,
    `${int(b.committed)} × 201 of ${int(b.posted)} in ${int(b.requests)} requests; ${groupCommits(b)}; ` +
      `gateway CPU ${ms(b.gatewayCpuMsPerNotification)} each`);
  const o = b.outbox;
  const outbox = !o.available ? o.reason
    : o.drained ? `outbox empty ${s(o.drainMsAfterLastPost)} after the last POST`
    : `outbox NOT empty after ${s(o.timeoutMs)}: ${int(o.backlogLeft)} left`;
  const d = b.deliveries;
  const clients = d.drained ? `all received ${s(d.drainMsAfterLastPost)} after` : `${int(d.unique)}/${int(d.expected)} received`;
  row(`${name}: drain`, `${outbox}; ${clients}`,
    o.available ? `backlog at the last POST ${int(o.backlogAtEnd)}, oldest ${o.lagSecondsAtEnd.toFixed(1)} s; POST→receipt p50 ${ms(d.latency.p50)}, p99 ${ms(d.latency.p99)}` : '');
}

function median(values) {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
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
    [`POST→receipt p50 (${opts.rate}/s, ${opts.clients} clients)`, ...cells((r) => ms(r.latency.p50))],
    [`POST→receipt p95`, ...cells((r) => ms(r.latency.p95))],
    [`POST→receipt p99`, ...cells((r) => ms(r.latency.p99))],
    ['  posted as', ...cells((r) => (r.latency.postMode === 'batch' ? `batch ×${r.latency.itemsPerRequest}` : 'single'))],
    ['ingest committed/s (single POSTs)', ...cells((r) => int(r.ingest.committedPerSec))],
    ['deliveries/s', ...cells((r) => int(r.deliveries.perSec))],
    ['gateway CPU per notification', ...cells((r) => ms(r.ingest.gatewayCpuMsPerNotification))],
    [`batch ingest committed/s (${opts.batchLanes} × ${opts.batchSize})`, ...cells((r) => int(r.batch.committedPerSec))],
    ['batch ingest: outbox drained after', ...cells((r) => (r.batch.outbox.drained ? s(r.batch.outbox.drainMsAfterLastPost) : 'NOT'))],
    ['batch ingest: all received after', ...cells((r) => (r.batch.deliveries.drained ? s(r.batch.deliveries.drainMsAfterLastPost) : 'NOT'))],
    ...(opts.naive ? [
      ['naive committed/s (single POSTs)', ...cells((r) => int(r.naive.ingest.committedPerSec))],
      ['naive committed/s (batch requests)', ...cells((r) => int(r.naive.batch.committedPerSec))],
      ['batched ÷ naive (single POSTs)', ...cells((r) => (r.naive.available ? times(r.naive.ratio) : 'n/a'))],
      ['batched ÷ naive (batch requests)', ...cells((r) => (r.naive.available ? times(r.naive.batchRatio) : 'n/a'))],
      ['batch ingest ÷ naive single POSTs', ...cells((r) => (r.naive.available ? times(r.naive.batchVsNaiveSingle) : 'n/a'))],
    ] : []),
    ...(opts.broadcastClients > 0 ? [
      [`broadcast to ${opts.broadcastClients}: reaches all`, ...cells((r) => (r.broadcast.medianMaxMs === null ? 'NOT all' : ms(r.broadcast.medianMaxMs)))],
    ] : []),
    [`RSS per idle socket (N=${opts.clients})`, ...cells((r) => kb(r.rss.perSocketKb))],
    ...(opts.broadcastClients > 0 ? [
      [`RSS per idle socket (N=${opts.broadcastClients} more)`, ...cells((r) => kb(r.broadcast.rss.perSocketKb))],
    ] : []),
    [`replay ${opts.missed} missed (median)`, ...cells((r) => ms(r.replay.medianTotalMs))],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}
