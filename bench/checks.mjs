/**
 * Problems a reader of the figures must not miss: lost notifications, failed requests, a
 * saturated rate, a relay that did not drain, a broadcast that missed sockets. Printed
 * under each setup and kept in the JSON (`countProblems`); the smoke test expects none.
 */
export function checkCounts(result) {
  const problems = [];
  const { latency: lat, ingest: ing, deliveries: del, batch, broadcast: bc, replay: rep, rss, naive } = result;
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
  return problems;

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
