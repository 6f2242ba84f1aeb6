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
  const clients = opts.webhookOnly ? 'no clients: webhook phase only'
    : opts.urgentOnly ? `urgent phase only: ${opts.urgentBacklogClients} backlog clients`
    : `${opts.clients} clients`;
  const lines = [`== ${result.label}  (${processes}, ${clients}${load})`];
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
    const g = lat.gateway;
    if (g) {
      row('  gateway during it', `event-loop delay p99 ${ms(g.loopLag.p99Ms)}, max ${ms(g.loopLag.maxMs)}`,
        `gateway CPU ${(g.cpuShare * 100).toFixed(0)} % of a core; the machine ${(g.machineBusyShare * 100).toFixed(0)} % busy (all cores)`);
      if (g.requestTime?.requests) {
        row('  notify requests, gateway-side time', `p50 ≤ ${ms(g.requestTime.p50AtMostMs)}  p99 ≤ ${ms(g.requestTime.p99AtMostMs)}`,
          `${g.requestTime.requests} requests; histogram bucket bounds`);
      }
    }
    const h = lat.hops;
    if (h?.sendToWrite.samples) {
      row('  send → write (HTTP, batcher)', `p50 ${ms(h.sendToWrite.p50)}  p99 ${ms(h.sendToWrite.p99)}  max ${ms(h.sendToWrite.max)}`, 'wall clock, 1 ms resolution');
      row('  write → receipt (commit, relay, emit)', `p50 ${ms(h.writeToReceipt.p50)}  p99 ${ms(h.writeToReceipt.p99)}  max ${ms(h.writeToReceipt.max)}`);
      row('  client threads\' event-loop delay', `p99 ${ms(lat.clientLoopDelay.p99Ms)}, max ${ms(lat.clientLoopDelay.maxMs)}`, 'the worst thread');
    }
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
  if (naive && naive.available === false) row('naive path', `not compared: ${naive.reason}`);
  if (result.cost) costRow(row, 'single-POST cost', result.cost);
  if (naive?.cost) costRow(row, 'naive single-POST cost', naive.cost);
  if (result.urgent) urgentRows(row, result.urgent);
  if (result.webhook) webhookRows(row, 'webhook', result.webhook);
  if (naive?.webhook) {
    webhookRows(row, 'naive worker webhook', naive.webhook);
    if (naive.webhookRatio !== null) row('webhook deliveries/s, worker ÷ naive worker', times(naive.webhookRatio));
  }
  return lines.join('\n');
}

const us = (v) => (v === null || v === undefined ? 'n/a' : `${int(v)} µs`);
/** Gateway / database / Redis CPU per notification, as µs. */
const costCells = (c) => `${us(c.cpuUs.gateway)} / ${us(c.cpuUs.database)} / ${us(c.cpuUs.redis)}`;

function costRow(row, name, c) {
  row(`${name}, ${int(c.count)} × ${c.concurrency} lanes`, `CPU per notification: gateway ${us(c.cpuUs.gateway)}, database ${us(c.cpuUs.database)}, Redis ${us(c.cpuUs.redis)}`,
    `${int(c.committed)} × 201 of ${int(c.posted)} at ${int(c.committedPerSec)}/s; ${int(c.received)} received, the last ${s(c.receivedMs - c.postMs)} after the last POST`);
}

/** One row per mode (out of band on, off), then the comparison. */
function urgentRows(row, { on, off, ratio }) {
  for (const [mode, u] of [['out of band', on], ['in order only', off]]) {
    if (!u) continue;
    const b = u.backlog;
    const drain = b.drained ? `all received ${s(b.drainMsAfterLastPost)} after the last POST` : `${int(b.unique)}/${int(b.committed)} received`;
    row(`urgent POST→receipt, ${mode}`, `p50 ${ms(u.urgent.p50)}  p95 ${ms(u.urgent.p95)}  max ${ms(u.urgent.max)}`,
      `${u.urgent.unique}/${u.urgent.committed} urgent, one every ${u.urgent.everyMs} ms; ${u.urgent.early} first out of band, ` +
        `${u.urgent.followed} in-order copies after; backlog ${int(b.committed)} low posted in ${s(b.ingestMs)}, ${drain}, ` +
        `low p50 ${ms(b.latency.p50)}; gateway CPU ${ms(u.gatewayCpuMsPerNotification)} per notification`);
  }
  if (ratio) {
    row('urgent, in order only ÷ out of band', `p50 ${times(ratio.p50)}, p95 ${times(ratio.p95)}`,
      `gateway CPU per notification out of band ÷ in order only ${ratio.cpu.toFixed(2)}`);
  }
}

const pendingText = (p) => (p.samples ? `mean ${int(p.mean)}, max ${int(p.max)}` : 'not sampled');

/** Two rows: the rate (and what was received), then the cost. */
function webhookRows(row, name, w) {
  const r = w.received;
  const rate = r.all ? `${int(w.perSec)} deliveries/s` : `NOT all received: ${int(r.delivered)}/${int(w.committed)} within ${s(w.drainTimeoutMs)} of the last POST`;
  const after = w.afterIngest
    ? `after the last POST response ${int(w.afterIngest.perSec)}/s (${int(w.afterIngest.deliveries)} in ${s(w.afterIngest.ms)})`
    : `${int(w.deliveredBeforeLastResponse)} of them before the last POST response`;
  const perInstance = w.gatewaySent.perInstance.length > 1 ? ` (${w.gatewaySent.perInstance.map(int).join(' + ')})` : '';
  row(`${name} (${int(w.count)}; ${w.lanes} × ${w.batchSize})`, rate,
    `${int(r.delivered)}/${int(w.committed)} in ${s(w.totalMs)} from the first POST (ingest took ${s(w.ingestMs)}, first receipt after ${s(w.firstDeliveryMs)}); ` +
      `${after}; ${int(r.duplicates)} duplicates; signatures ${r.signatureOk}/${r.sampled} sampled valid; ` +
      `gateway counted ${int(w.gatewaySent.total)} sent${perInstance}; worker ${w.worker.concurrency} in flight, claims of ≤ ${w.worker.claimBatch}; ` +
      `pending while draining ${pendingText(w.pendingWhileDraining)}; ${int(r.connections)} new connections to the receiver; ` +
      `gateways logged ${w.gatewayLogs.warn} warnings, ${w.gatewayLogs.error} errors`);
  const c = w.cpu;
  const busy = c.machineSeconds / (c.windowMs / 1000) / c.cores;
  row(`${name}: CPU per delivery`, `gateway ${ms(c.gatewayMsPerDelivery)}, MariaDB ${c.databaseMsPerDelivery === null ? 'n/a' : ms(c.databaseMsPerDelivery)}`,
    `bench process ${ms(c.benchMsPerDelivery)}, other processes ${ms(Math.max(0, c.otherMsPerDelivery))}; the machine was ${(busy * 100).toFixed(0)} % busy ` +
      `(${c.cores} cores) over the ${s(c.windowMs)} from the first POST until the last receipt`);
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
  const ran = results.filter((r) => !r.skipped && (r.latency || r.webhook || r.urgent || r.cost));
  if (ran.length === 0) return '';
  const cells = (fn) =>
    ran.map((r) => {
      try {
        return fn(r);
      } catch {
        return 'n/a'; // the setup failed before this phase
      }
    });
  const inApp = ran.some((r) => r.latency);
  const webhook = ran.some((r) => r.webhook);
  const naiveWebhook = ran.some((r) => r.naive?.webhook);
  const rows = [
    ['', ...ran.map((r) => r.name)],
    ...(inApp ? inAppRows(cells, opts) : []),
    ...(ran.some((r) => r.cost) ? costSummaryRows(cells, opts) : []),
    ...(ran.some((r) => r.urgent) ? urgentSummaryRows(cells, opts) : []),
    ...(webhook ? [
      [`webhook deliveries/s (${int(opts.webhookCount)}, first POST → last receipt)`,
        ...cells((r) => (r.webhook.received.all ? int(r.webhook.perSec) : 'NOT all'))],
      ['  after the last POST response', ...cells((r) => (r.webhook.afterIngest ? int(r.webhook.afterIngest.perSec) : 'n/a'))],
      ['CPU per delivery (gateway / MariaDB)', ...cells((r) => {
        const c = r.webhook.cpu;
        return `${c.gatewayMsPerDelivery.toFixed(2)} / ${c.databaseMsPerDelivery === null ? '–' : c.databaseMsPerDelivery.toFixed(2)} ms`;
      })],
    ] : []),
    ...(naiveWebhook ? [
      [`naive worker webhook deliveries/s (${int(opts.webhookNaiveCount)}, claim 1, 1 in flight)`,
        ...cells((r) => (r.naive.webhook.received.all ? int(r.naive.webhook.perSec) : 'NOT all'))],
      ['webhook deliveries/s, worker ÷ naive worker', ...cells((r) => times(r.naive.webhookRatio))],
    ] : []),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => `| ${row.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}

function costSummaryRows(cells, opts) {
  return [
    [`CPU per notification, gateway / database / Redis (${int(opts.costCount)} single POSTs, ${opts.costConcurrency} lanes)`, ...cells((r) => costCells(r.cost))],
    ...(opts.naive ? [['  naive (WRITE_BATCHING=false)', ...cells((r) => costCells(r.naive.cost))]] : []),
  ];
}

function urgentSummaryRows(cells, opts) {
  const p = (u) => `${ms(u.urgent.p50)} / ${ms(u.urgent.p95)} / ${ms(u.urgent.max)}`;
  return [
    [`urgent POST→receipt p50 / p95 / max, ${int(opts.urgentBacklog)} low draining: out of band`, ...cells((r) => p(r.urgent.on))],
    ['  in order only (URGENT_OUT_OF_BAND=false)', ...cells((r) => p(r.urgent.off))],
    ['  backlog all received after the last POST (on / off)',
      ...cells((r) => [r.urgent.on, r.urgent.off].map((u) => (u.backlog.drained ? s(u.backlog.drainMsAfterLastPost) : 'NOT')).join(' / '))],
    ['  gateway CPU per notification (on / off)',
      ...cells((r) => `${r.urgent.on.gatewayCpuMsPerNotification.toFixed(3)} / ${r.urgent.off.gatewayCpuMsPerNotification.toFixed(3)} ms`)],
  ];
}

function inAppRows(cells, opts) {
  return [
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
}
