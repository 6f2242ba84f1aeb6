/**
 * Worker-thread side of the bench's webhook receiver (webhook-receiver.mjs): node:http on
 * 127.0.0.1, port 0, answers 204 at once to every request. In a thread of its own so that
 * the main thread's posting (JSON of 500-item batches) never delays an answer: a slow
 * receiver would hold the gateway's sends in flight and measure itself.
 *
 * Per request it records the `webhook-id`: new ones (with their arrival time on the bench
 * clock), repeats (duplicates: at-least-once delivery may send twice, a clean run should
 * not), requests without one. One request in `sampleEvery` also has its body read and its
 * Standard Webhooks signature checked against the channel secret (HMAC-SHA256 over
 * `id.timestamp.body`); checking every one would cost the shared cores for no more
 * information, counting is what the phase needs.
 *
 * It also counts the TCP connections the gateways opened to it (keep-alive reuse).
 *
 * Messages from the main thread: { cmd: 'stats' } → counts; { cmd: 'arrivals' } → the
 * arrival times of the distinct ids, in order; { cmd: 'reset' } → everything back to 0
 * (after a warm-up); { cmd: 'close' }.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { now } from './clock.mjs';

const { secret, sampleEvery } = workerData;
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');

let seen;
let arrivals;
let counts;
let firstAt;
let lastNewAt;
function reset() {
  seen = new Set();
  arrivals = [];
  counts = { requests: 0, distinct: 0, duplicates: 0, withoutId: 0, notPost: 0, sampled: 0, signatureOk: 0, signatureBad: 0, connections: 0 };
  firstAt = null;
  lastNewAt = null;
}
reset();

const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  counts.requests += 1;
  const id = req.headers['webhook-id'];
  if (req.method !== 'POST') counts.notPost += 1;
  if (typeof id !== 'string' || id === '') counts.withoutId += 1;
  else if (seen.has(id)) counts.duplicates += 1;
  else {
    const t = now();
    seen.add(id);
    arrivals.push(t);
    counts.distinct += 1;
    firstAt ??= t;
    lastNewAt = t;
  }
  res.writeHead(204).end();
  if ((counts.requests - 1) % sampleEvery !== 0) return void req.resume(); // the 1st, (1 + n)th, …
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    counts.sampled += 1;
    if (verify(req.headers, Buffer.concat(chunks).toString('utf8'))) counts.signatureOk += 1;
    else counts.signatureBad += 1;
  });
});

/** Standard Webhooks: `webhook-signature` is a space-separated list of `v1,<base64>`. */
function verify(headers, body) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const header = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof header !== 'string') return false;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest();
  return header.split(' ').some((part) => {
    const [version, signature] = part.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

server.on('connection', () => (counts.connections += 1));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ listening: server.address().port }));

parentPort.on('message', ({ call, cmd }) => {
  if (cmd === 'stats') parentPort.postMessage({ call, result: { ...counts, firstAt, lastNewAt } });
  if (cmd === 'arrivals') parentPort.postMessage({ call, result: arrivals });
  if (cmd === 'reset') parentPort.postMessage({ call, result: reset() ?? null });
  if (cmd === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort.postMessage({ call, result: null }));
  }
});
