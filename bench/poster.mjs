/**
 * The HTTP side of the load, over keep-alive connections to the setup's instances
 * round-robin: single POSTs (`POST /api/notify/bench:event`), tenant broadcasts, and
 * batches (`POST /api/notify`, one result per item). The send time goes into `data.t`
 * (monotonic ms, clock.mjs) immediately before the request is handed to the agent, so
 * time spent queued for a connection counts as latency — an open-loop sender must not
 * hide its own backlog.
 */
import http from 'node:http';
import { now } from './clock.mjs';

const KIND = 'bench:event';
const SINGLE_PATH = `/api/notify/${KIND}`;
const BATCH_PATH = '/api/notify';
const REQUEST_TIMEOUT_MS = 30_000;

export function createPoster({ urls, apiKey, tenantId, maxSockets }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  let turn = 0;

  /** Resolves to { status, body } (body parsed when JSON), or status 0 and error. */
  function send(path, body) {
    const target = new URL(path, urls[turn++ % urls.length]);
    const payload = JSON.stringify(body);
    return new Promise((resolve) => {
      const req = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-api-key': apiKey },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body: parseJson(text) }));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no response in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error) => resolve({ status: 0, body: null, error: error.message }));
      req.end(payload);
    });
  }

  /** One notification for `userId`, tagged with phase `ph`; `extra` goes into the body (e.g. a priority); resolves to { status, id }. */
  async function post(userId, ph, extra = {}) {
    const res = await send(SINGLE_PATH, { tenantId, userId, title: 'bench', data: { t: now(), w: Date.now(), ph }, ...extra });
    return { status: res.status, id: res.status === 201 ? res.body.id : null, error: res.error };
  }

  /** One notification to every connected socket of `tenant`. */
  async function postTenant(tenant, ph) {
    const res = await send(SINGLE_PATH, { tenantId: tenant, scope: 'tenant', title: 'bench broadcast', data: { t: now(), w: Date.now(), ph } });
    return { status: res.status, id: res.status === 201 ? res.body.id : null, error: res.error };
  }

  /**
   * One request with one notification per user in `userIds`, all stamped with the same
   * send time; resolves to one { status, id } per item (the request's status for every
   * item when the request as a whole failed). `extra` goes into every item (e.g.
   * `{ channels: ['hook'] }`).
   */
  async function postBatch(userIds, ph, extra = {}) {
    const data = { t: now(), w: Date.now(), ph };
    const notifications = userIds.map((userId) => ({ kind: KIND, tenantId, userIds: [userId], title: 'bench', data, ...extra }));
    const res = await send(BATCH_PATH, { notifications });
    const results = res.status === 200 && Array.isArray(res.body?.results) ? res.body.results : null;
    if (!results) {
      const error = res.error ?? `batch request answered ${res.status}: ${JSON.stringify(res.body?.error ?? res.body)}`;
      return userIds.map(() => ({ status: res.status, id: null, error }));
    }
    return results.map((r) => ({ status: r.status, id: r.id ?? null, error: r.error ? `${r.error.code}: ${r.error.message}` : undefined }));
  }

  /** One batch request of the given item bodies (each with its own tenant, users…); one { status, id } per item. */
  async function postItems(items) {
    const res = await send(BATCH_PATH, { notifications: items });
    const results = res.status === 200 && Array.isArray(res.body?.results) ? res.body.results : null;
    if (!results) {
      const error = res.error ?? `batch request answered ${res.status}: ${JSON.stringify(res.body?.error ?? res.body)}`;
      return items.map(() => ({ status: res.status, id: null, error }));
    }
    return results.map((r) => ({ status: r.status, id: r.id ?? null, error: r.error ? `${r.error.code}: ${r.error.message}` : undefined }));
  }

  return { post, postTenant, postBatch, postItems, close: () => agent.destroy() };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
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

/**
 * Open loop in batches: every `tickMs` one request carrying the notifications that fell
 * due in that tick (rate × tick / 1000, carried over when fractional), until `count`.
 * `sendBatch(n)` resolves to n item results.
 */
export async function postBatchesAtRate(count, rate, tickMs, sendBatch) {
  const start = now();
  const pending = [];
  let sent = 0;
  for (let tick = 1; sent < count; tick += 1) {
    const n = Math.min(count, Math.floor((tick * rate * tickMs) / 1000)) - sent;
    if (n > 0) {
      pending.push(sendBatch(n));
      sent += n;
    }
    if (sent >= count) break;
    const wait = start + tick * tickMs - now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
  }
  return tally((await Promise.all(pending)).flat(), now() - start);
}

/**
 * Closed loop: `concurrency` lanes send back to back until `durationMs` passed or `count`
 * were sent. `send` resolves to one result, or an array of item results for a batch.
 */
export async function postFlatOut({ durationMs = Infinity, count = Infinity }, concurrency, send) {
  const start = now();
  const end = start + durationMs;
  const results = [];
  let i = 0;
  let requests = 0;
  const lane = async () => {
    while (now() < end && i < count) {
      const result = await send(i++);
      requests += 1;
      if (Array.isArray(result)) results.push(...result);
      else results.push(result);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { ...tally(results, now() - start), requests };
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
