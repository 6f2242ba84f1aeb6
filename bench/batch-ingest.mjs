/**
 * Batch ingest: `batchLanes` keep-alive lanes POST `/api/notify` back to back for
 * `duration` seconds, each request `batchSize` notifications to one random connected
 * user each → notifications committed per second (items answered 201).
 *
 * Then the drain, because a write path that outruns its relay only moves the queue:
 *   outbox   from the last response until the gateway's notify_outbox_backlog gauge reads
 *            0 (every committed row published by the relay)
 *   clients  from the last response until the clients received every committed one
 * Both are bounded by `batchDrainMs`; past it the phase reports what was left instead of
 * failing, so a relay that cannot keep up shows as a number, not a hang.
 */
import { userId } from './client-pool.mjs';
import { now, sleep } from './clock.mjs';
import { metricValue } from './gateways.mjs';
import { commitFigures, summarize, writeBatches } from './phases.mjs';
import { postFlatOut } from './poster.mjs';

const OUTBOX_POLL_MS = 50;

export async function batchIngest({ setup, pool, poster, opts }) {
  await pool.phase('bat');
  const users = () => Array.from({ length: opts.batchSize }, () => userId(Math.floor(Math.random() * opts.clients)));
  const cpuBefore = setup.cpuSeconds();
  const batchesBefore = await writeBatches(setup.urls);
  const start = now();
  const sent = await postFlatOut({ durationMs: opts.duration * 1000 }, opts.batchLanes, () => poster.postBatch(users(), 'bat'));
  const end = start + sent.elapsedMs;
  const cpuSeconds = setup.cpuSeconds() - cpuBefore;
  const outbox = await drainOutbox(setup.urls[0], end, opts.batchDrainMs);
  const counts = await pool.waitForUnique(sent.committed, Math.max(0, end + opts.batchDrainMs - now()));
  const batchesAfter = await writeBatches(setup.urls);
  const { sentAt, recvAt } = await pool.collect();
  const lastReceipt = recvAt.reduce((max, t) => Math.max(max, t), end);
  return {
    batchSize: opts.batchSize,
    lanes: opts.batchLanes,
    requests: sent.requests,
    ...commitFigures(sent, cpuSeconds, batchesBefore, batchesAfter),
    outbox,
    deliveries: {
      expected: sent.committed,
      ...counts,
      drained: counts.unique >= sent.committed,
      drainMsAfterLastPost: lastReceipt - end,
      latency: summarize(recvAt.map((r, i) => r - sentAt[i])),
    },
  };
}

/**
 * Polls one instance's outbox gauges (they read the shared store, so one instance
 * speaks for all) until the backlog is 0 or `timeoutMs` after `since` passed.
 */
async function drainOutbox(url, since, timeoutMs) {
  const backlogAtEnd = await metricValue(url, 'notify_outbox_backlog');
  const lagSecondsAtEnd = await metricValue(url, 'notify_outbox_lag_seconds');
  if (backlogAtEnd === null) return { available: false, reason: 'no notify_outbox_backlog on /metrics' };
  let backlog = backlogAtEnd;
  while (backlog > 0 && now() - since < timeoutMs) {
    await sleep(OUTBOX_POLL_MS);
    backlog = await metricValue(url, 'notify_outbox_backlog');
  }
  return {
    available: true,
    backlogAtEnd,
    lagSecondsAtEnd,
    drained: backlog === 0,
    backlogLeft: backlog,
    // Resolution: one /metrics scrape (each reads the store) every OUTBOX_POLL_MS.
    drainMsAfterLastPost: backlog === 0 ? now() - since : null,
    timeoutMs,
  };
}
