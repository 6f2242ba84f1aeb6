/**
 * The bench's local webhook receiver: a worker thread (webhook-receiver-worker.mjs) that
 * answers 204 at once on 127.0.0.1 and counts what arrives. Stopped by cleanup.mjs even
 * when the bench fails.
 */
import { Worker } from 'node:worker_threads';
import { onCleanup } from './cleanup.mjs';
import { sleep } from './clock.mjs';

const workerUrl = new URL('./webhook-receiver-worker.mjs', import.meta.url);
const POLL_MS = 25;

/**
 * `secret` is the channel's whsec_ secret (for the sampled signature checks); one
 * request in `sampleEvery` is verified. Resolves once the server listens.
 */
export async function startWebhookReceiver({ secret, sampleEvery = 100 }) {
  const worker = new Worker(workerUrl, { workerData: { secret, sampleEvery } });
  let nextCall = 0;
  const pending = new Map();
  let failure = null;
  const port = await new Promise((resolve, reject) => {
    worker.on('message', (message) => {
      if (message.listening !== undefined) return resolve(message.listening);
      pending.get(message.call)?.(message.result);
      pending.delete(message.call);
    });
    const fail = (error) => {
      failure = error;
      reject(error);
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`webhook receiver exited (${code})`)));
  });
  const call = (cmd) => {
    if (failure) return Promise.reject(failure);
    const id = nextCall++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      worker.postMessage({ call: id, cmd });
    });
  };
  const close = onCleanup(async () => {
    await Promise.race([call('close').catch(() => {}), sleep(2000)]);
    await worker.terminate();
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    /** { requests, distinct, duplicates, withoutId, notPost, sampled, signatureOk, signatureBad, connections, firstAt, lastNewAt } */
    stats: () => call('stats'),
    /** Forget everything received so far (after a warm-up). */
    reset: () => call('reset'),
    /** Arrival time (bench clock, ms) of each distinct webhook-id, in arrival order. */
    arrivals: () => call('arrivals'),
    /** Polls until `distinct` ids arrived or `deadline` (bench clock) passed; resolves to the last stats. */
    async waitForDistinct(distinct, deadline, clock) {
      let stats = await call('stats');
      while (stats.distinct < distinct && clock() < deadline) {
        await sleep(POLL_MS);
        stats = await call('stats');
      }
      return stats;
    },
    close,
  };
}
