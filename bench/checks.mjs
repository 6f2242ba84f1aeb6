/**
 * Problems a reader of the figures must not miss: lost notifications, failed requests, a
 * saturated rate, a relay that did not drain, a broadcast that missed sockets. Printed
 * under each setup and kept in the JSON (`countProblems`); the smoke test expects none.
 */
export function checkCounts(result) {
  const problems = [];
  const { latency: lat, ingest: ing, deliveries: del, batch, broadcast: bc, replay: rep, rss, naive, webhook } = result;
  const notCreated = (what, r) =>
    `${what}: ${r.posted - r.committed} notifications not 201 ${JSON.stringify(r.statuses)}${r.firstError ? ` (${r.firstError})` : ''}`;
  if (lat && lat.unique !== lat.committed) problems.push(`latency: ${lat.unique}/${lat.committed} received`);
  if (lat?.saturated) {
    problems.push(`latency: the gateway did not keep up with ${lat.rate}/s (last response ${Math.round(lat.responseLagMs)} ms late); ` +
      'the figures are mostly queueing, try a lower --rate');
  }
  if (lat?.deliveryLagMs > 1000) {
    problems.push(`latency: the last receipt came ${Math.round(lat.deliveryLagMs)} ms after the last POST: delivery did not keep up ` +
      `with ${lat.rate}/s, the figures are mostly its queue`);
  }
  if (lat && lat.committed !== lat.posted) problems.push(notCreated('latency', lat));
  if (ing && ing.committed !== ing.posted) problems.push(notCreated('ingest', ing));
  if (del && del.unique !== del.expected) problems.push(`ingest: ${del.unique}/${del.expected} delivered`);
  problems.push(...batchProblems('batch ingest', batch));
  if (naive?.ingest && naive.ingest.committed !== naive.ingest.posted) problems.push(notCreated('naive ingest', naive.ingest));
  if (naive?.deliveries && naive.deliveries.unique !== naive.deliveries.expected) {
    problems.push(`naive ingest: ${naive.deliveries.unique}/${naive.deliveries.expected} delivered`);
  }
  problems.push(...batchProblems('naive batch ingest', naive?.batch));
  for (const r of rep?.rounds ?? []) if (r.replayed !== r.missed) problems.push(`replay: ${r.replayed}/${r.missed} replayed`);
  if (rss && rss.socketsSeenByGateway !== rss.sockets) {
    problems.push(`the gateway counts ${rss.socketsSeenByGateway} sockets, the clients ${rss.sockets}`);
  }
  for (const [i, r] of (bc?.rounds ?? []).entries()) {
    if (r.received !== bc.clients) problems.push(`broadcast round ${i + 1}: ${r.received}/${bc.clients} sockets received it`);
  }
  if (bc?.rss && bc.rss.socketsSeenByGateway !== bc.rss.sockets) {
    problems.push(`broadcast: the gateway counts ${bc.rss.socketsSeenByGateway} more sockets, the clients ${bc.rss.sockets}`);
  }
  for (const [what, c] of [['cost', result.cost], ['naive cost', naive?.cost]]) {
    if (!c) continue;
    if (c.committed !== c.posted) problems.push(notCreated(what, c));
    if (c.received !== c.committed) problems.push(`${what}: ${c.received}/${c.committed} received`);
  }
  problems.push(...webhookProblems('webhook', webhook), ...webhookProblems('naive worker webhook', naive?.webhook));
  problems.push(...urgentProblems('urgent, out of band', result.urgent?.on, true), ...urgentProblems('urgent, in order only', result.urgent?.off, false));
  return problems;

  function urgentProblems(what, u, outOfBand) {
    if (!u) return [];
    const found = [];
    const b = u.backlog;
    if (b.committed !== b.posted) found.push(notCreated(`${what}, backlog`, b));
    if (!b.drained) found.push(`${what}: ${b.unique}/${b.committed} of the backlog received`);
    if (u.urgent.committed !== u.urgent.posted) found.push(`${what}: ${u.urgent.posted - u.urgent.committed} urgent POSTs not 201 (${u.urgent.firstError})`);
    if (u.urgent.unique !== u.urgent.committed) found.push(`${what}: ${u.urgent.unique}/${u.urgent.committed} urgent received`);
    if (u.urgent.duplicates > 0 || b.duplicates > 0) found.push(`${what}: ${u.urgent.duplicates + b.duplicates} duplicates`);
    if (outOfBand && u.urgent.early === 0) found.push(`${what}: no urgent notification came out of band`);
    if (!outOfBand && u.urgent.early > 0) found.push(`${what}: ${u.urgent.early} came out of band with URGENT_OUT_OF_BAND=false`);
    return found;
  }

  function webhookProblems(what, w) {
    if (!w) return [];
    const found = [];
    const r = w.received;
    if (w.committed !== w.posted) found.push(notCreated(what, w));
    if (!r.all) found.push(`${what}: the receiver got ${r.delivered}/${w.committed} within ${w.drainTimeoutMs / 1000} s of the last POST`);
    if (r.duplicates > 0) found.push(`${what}: ${r.duplicates} duplicate requests (a webhook-id received twice)`);
    if (r.withoutId > 0 || r.notPost > 0) found.push(`${what}: ${r.withoutId} requests without webhook-id, ${r.notPost} not POST`);
    if (r.signatureBad > 0 || r.sampled === 0) found.push(`${what}: ${r.signatureBad} of ${r.sampled} sampled signatures invalid`);
    if (w.gatewaySent.total !== w.committed) found.push(`${what}: the gateways counted ${w.gatewaySent.total} sent, ${w.committed} were queued`);
    const left = ['pending', 'sending', 'failed', 'dead'].filter((k) => w.queue[k] !== 0).map((k) => `${k} ${w.queue[k]}`);
    if (left.length) found.push(`${what}: the delivery queue still holds ${left.join(', ')}`);
    if (w.gatewayLogs.error > 0) found.push(`${what}: the gateways logged ${w.gatewayLogs.error} errors, last: ${w.gatewayLogs.last.join(' | ')}`);
    if (w.listed.sent !== w.listed.limit || w.listed.suppressed !== 0) {
      found.push(`${what}: GET /api/deliveries listed ${w.listed.sent}/${w.listed.limit} sent and ${w.listed.suppressed} suppressed`);
    }
    return found;
  }

  function batchProblems(what, b) {
    if (!b) return [];
    const found = [];
    if (b.committed !== b.posted) found.push(notCreated(what, b));
    if (b.outbox?.available && !b.outbox.drained) {
      found.push(`${what}: outbox still held ${b.outbox.backlogLeft} rows ${b.outbox.timeoutMs / 1000} s after the last POST`);
    }
    if (b.deliveries.unique !== b.deliveries.expected) {
      found.push(`${what}: ${b.deliveries.unique}/${b.deliveries.expected} delivered`);
    }
    return found;
  }
}
