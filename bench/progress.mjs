/**
 * Progress lines for `npm run bench`, so a setup is never silent for a minute: while a
 * phase runs, every BENCH_PROGRESS_MS (default 5000; 0 turns it off) one line with the
 * setup, the phase, how far it is and the time spent in it:
 *
 *    … mysql4 · latency: 450/1,000 notifications posted (10 s)
 *
 * A phase shorter than that prints nothing. Counts come from the bench itself where it
 * can know them (notifications its poster got an answer for, seconds of a posting
 * window), otherwise from the gateways' /metrics (connected sockets, webhooks sent),
 * read once per line — the rate at which Prometheus would scrape them anyway.
 */
import { metricSample, metricSum } from './gateways.mjs';

const EVERY_MS = process.env.BENCH_PROGRESS_MS === undefined ? 5000 : Number(process.env.BENCH_PROGRESS_MS);
const int = (v) => Math.round(v).toLocaleString('en-US');

/**
 * The poster, counting what it got an answer for: notifications (a batch counts its
 * items) and tenant broadcasts. Every other method passes through as it is.
 */
export function countPosts(poster) {
  const counts = { notifications: 0, broadcasts: 0 };
  const counted = (promise, key, n) =>
    promise.then((result) => {
      counts[key] += n;
      return result;
    });
  return {
    counts,
    poster: {
      ...poster,
      post: (...args) => counted(poster.post(...args), 'notifications', 1),
      postTenant: (...args) => counted(poster.postTenant(...args), 'broadcasts', 1),
      postBatch: (userIds, ...rest) => counted(poster.postBatch(userIds, ...rest), 'notifications', userIds.length),
    },
  };
}

async function webhooksSent(urls) {
  let sent = 0;
  for (const url of urls) sent += (await metricSample(url, 'notify_deliveries_total', { channel_type: 'webhook', outcome: 'sent' })) ?? 0;
  return sent;
}

/**
 * `run(phase, work, extra)` runs one phase with its progress lines. `counts` is what
 * countPosts counts for this setup's poster; each line shows what the phase did so far.
 */
export function createProgress(label, { setup, opts }, counts) {
  const sockets = () => metricSum(setup.urls, 'notify_connected_sockets');
  const postingWindow = (seconds) =>
    seconds <= opts.duration ? `${seconds}/${opts.duration} s of posting` : `posted for ${opts.duration} s, draining`;
  /** (posted in this phase, seconds in it, extra) → the line's figures */
  const details = {
    'connect clients': async () => `${int(await sockets())}/${int(opts.clients)} sockets connected`,
    broadcast: async (posted) => {
      const connected = Math.max(0, (await sockets()) - opts.clients);
      return `${int(connected)}/${int(opts.broadcastClients)} broadcast sockets connected, ${posted.broadcasts}/${opts.broadcastRounds} rounds posted`;
    },
    latency: async (posted) => `${int(posted.notifications)}/${int(opts.count)} notifications posted`,
    'warm-up': async (posted) => `${int(posted.notifications)}/${int(opts.warmup)} notifications posted`,
    ingest: async (posted, seconds) => `${postingWindow(seconds)}, ${int(posted.notifications)} notifications posted`,
    'batch ingest': async (posted, seconds) => `${postingWindow(seconds)}, ${int(posted.notifications)} notifications posted`,
    replay: async (posted) =>
      `${int(posted.notifications)}/${int(1 + opts.replayRounds * opts.missed)} notifications posted (${opts.replayRounds} rounds of ${opts.missed} missed)`,
    cost: async (posted) => `${int(posted.notifications)}/${int(opts.warmup + opts.costCount)} notifications posted`,
    // The topic phases keep their own line (topic-phases.mjs).
    'topic broadcast': async (_posted, _seconds, live) => live.text(),
    'presence churn': async (_posted, _seconds, live) => live.text(),
    webhooks: async (posted, _seconds, { count }) => {
      const total = opts.webhookWarmup + count;
      return `${int(posted.notifications)}/${int(total)} notifications posted, ${int(await webhooksSent(setup.urls))}/${int(total)} webhooks sent`;
    },
  };

  return {
    async run(phase, work, extra = {}) {
      const detail = details[phase];
      if (!(EVERY_MS > 0) || !detail) return work();
      const started = Date.now();
      const base = { ...counts };
      let stopped = false;
      let busy = false;
      const tick = async () => {
        if (busy) return; // the gateways are slow to answer /metrics: skip a beat
        busy = true;
        try {
          const posted = Object.fromEntries(Object.keys(counts).map((key) => [key, counts[key] - base[key]]));
          const seconds = Math.round((Date.now() - started) / 1000);
          const text = await detail(posted, seconds, extra).catch((error) => `no figures (${error.message})`);
          if (!stopped) process.stdout.write(`   … ${label} · ${phase}: ${text} (${seconds} s)\n`);
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), EVERY_MS);
      try {
        return await work();
      } finally {
        stopped = true;
        clearInterval(timer);
      }
    },
  };
}
