/**
 * The HTTP side of the load: `POST /api/notify/bench:event` over keep-alive connections,
 * to the setup's instances round-robin. The send time goes into `data.t` (monotonic ms,
 * clock.mjs) immediately before the request is handed to the agent, so time spent queued
 * for a connection counts as latency — an open-loop sender must not hide its own backlog.
 */
import http from 'node:http';
import { now } from './clock.mjs';

const PATH = '/api/notify/bench:event';
const REQUEST_TIMEOUT_MS = 30_000;

export function createPoster({ urls, apiKey, tenantId, maxSockets }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const targets = urls.map((u) => new URL(PATH, u));
  let turn = 0;

  /** Posts one notification for `userId` tagged with phase `ph`; resolves to { status, id }. */
  function post(userId, ph) {
    const target = targets[turn++ % targets.length];
    const payload = JSON.stringify({ tenantId, userId, title: 'bench', data: { t: now(), ph } });
    return new Promise((resolve) => {
      const req = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-api-key': apiKey },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode, id: res.statusCode === 201 ? JSON.parse(body).id : null }));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no response in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error) => resolve({ status: 0, id: null, error: error.message }));
      req.end(payload);
    });
  }

  return { post, close: () => agent.destroy() };
}

/** Open loop: `count` posts at a fixed `rate`/s, never waiting for responses to send the next. */
export async function postAtRate(count, rate, send) {
  const start = now();
  const pending = [];
  for (let i = 0; i < count; i += 1) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i));
  }
  return tally(await Promise.all(pending), now() - start);
}

/** Closed loop: `concurrency` lanes post back to back until `durationMs` passed or `count` were sent. */
export async function postFlatOut({ durationMs = Infinity, count = Infinity }, concurrency, send) {
  const start = now();
  const end = start + durationMs;
  const results = [];
  let i = 0;
  const lane = async () => {
    while (now() < end && i < count) results.push(await send(i++));
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return tally(results, now() - start);
}

function tally(results, elapsedMs) {
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    posted: results.length,
    committed: statuses[201] ?? 0,
    statuses,
    elapsedMs,
    ids: results.filter((r) => r.status === 201).map((r) => r.id),
    firstError: results.find((r) => r.error)?.error ?? null,
  };
}
