/**
 * Command-line options of `npm run bench`: presets, then flags on top. `--help` prints
 * USAGE; every default is in FULL / SMOKE / SCALE below.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SETUPS } from './gateways.mjs';

// --rate 50/s with single POSTs: the default latency figure is the pipeline at rest; with
// 1,000 sockets one gateway process spends about 1 ms of CPU per single POST here, and a
// latency figure taken near capacity measures the queue, not the pipeline (the run warns
// when that happens). Higher rates are sent as batches (--post-mode, phases.mjs).
// --duration is short so that the whole default run stays under ~8 minutes.
const FULL = {
  clients: 1000, count: 1000, rate: 50, postMode: 'auto', duration: 5, concurrency: 16,
  batchSize: 500, batchLanes: 4, missed: 500, workers: 2, replayRounds: 3,
  broadcastClients: 10_000, broadcastRounds: 5,
  webhookCount: 20_000, webhookNaiveCount: 1_000, webhookWarmup: 200,
  warmup: 300, settleMs: 1000, drainMs: 20_000, batchDrainMs: 60_000, broadcastConnectMs: 120_000, broadcastTimeoutMs: 10_000,
  webhookDrainMs: 120_000,
  urgentBacklog: 50_000, urgentBacklogClients: 100, urgentEveryMs: 100,
  costCount: 20_000, costConcurrency: 64,
  topicClients: 10_000, topicRounds: 5,
  presenceClients: 2000, presenceWatchers: 10, presenceRate: 1000, presenceDuration: 10, presenceRounds: 2,
};
const SMOKE = {
  clients: 20, count: 30, rate: 50, postMode: 'auto', duration: 1, concurrency: 4,
  batchSize: 50, batchLanes: 2, missed: 20, workers: 1, replayRounds: 1,
  broadcastClients: 50, broadcastRounds: 2,
  webhookCount: 40, webhookNaiveCount: 10, webhookWarmup: 10,
  warmup: 10, settleMs: 200, drainMs: 5_000, batchDrainMs: 10_000, broadcastConnectMs: 10_000, broadcastTimeoutMs: 5_000,
  webhookDrainMs: 10_000,
  urgentBacklog: 1_000, urgentBacklogClients: 10, urgentEveryMs: 20,
  costCount: 100, costConcurrency: 4,
  topicClients: 50, topicRounds: 2,
  presenceClients: 50, presenceWatchers: 2, presenceRate: 50, presenceDuration: 2, presenceRounds: 1,
};
/** The latency target: p99 POST→receipt at 2,000 notifications/s with 5,000 clients (10 s of load). */
const SCALE = { clients: 5000, rate: 2000, count: 20_000 };

/**
 * The setups. mysql2 runs when named: each setup adds ~2 minutes, mostly
 * connecting the 10,000 broadcast sockets, and the default run should stay well under ~8.
 */
const DEFAULT_SETUPS = ['embedded', 'mysql1', 'mysql4'];
const NUMERIC = {
  clients: 'clients', count: 'count', rate: 'rate', duration: 'duration', concurrency: 'concurrency',
  'batch-size': 'batchSize', 'batch-lanes': 'batchLanes', missed: 'missed', workers: 'workers',
  'broadcast-clients': 'broadcastClients', 'broadcast-rounds': 'broadcastRounds',
  'webhook-count': 'webhookCount', 'webhook-naive-count': 'webhookNaiveCount',
  'urgent-backlog': 'urgentBacklog', 'urgent-backlog-clients': 'urgentBacklogClients', 'urgent-every': 'urgentEveryMs',
  'cost-count': 'costCount', 'cost-concurrency': 'costConcurrency',
  'topic-clients': 'topicClients', 'topic-rounds': 'topicRounds',
  'presence-clients': 'presenceClients', 'presence-watchers': 'presenceWatchers', 'presence-rate': 'presenceRate',
  'presence-duration': 'presenceDuration', 'presence-rounds': 'presenceRounds',
};
/** May be 0: skips what they count. */
const ZERO_ALLOWED = ['broadcastClients', 'webhookCount', 'webhookNaiveCount', 'costCount', 'topicClients', 'presenceClients', 'presenceWatchers'];
const POST_MODES = ['auto', 'single', 'batch'];
const MAX_BATCH_ITEMS = 500; // src/http/notify-batch-route.ts

export const USAGE = `npm run bench -- [options]
  --setups LIST            of ${Object.keys(SETUPS).join(',')} (default ${DEFAULT_SETUPS.join(',')})
  --clients N              idle connected sockets, one user each (${FULL.clients})
  --count K --rate R       latency phase: K notifications at R/s (${FULL.count} at ${FULL.rate}/s)
  --post-mode M            latency posting: single = one POST each; batch = every 10 ms one
                           POST /api/notify with R/100 items, each stamped with its send time;
                           auto (default) = single up to 100/s, batch above
  --duration S             seconds of each ingest phase (${FULL.duration})
  --concurrency C          lanes of single POSTs in the ingest phase (${FULL.concurrency})
  --batch-size B --batch-lanes L
                           batch ingest: L lanes POST /api/notify with B items (≤ ${MAX_BATCH_ITEMS}) each (${FULL.batchSize}, ${FULL.batchLanes})
  --broadcast-clients N    sockets that receive each tenant broadcast, 0 skips it (${FULL.broadcastClients})
  --broadcast-rounds R     broadcasts posted, one after the other (${FULL.broadcastRounds})
  --webhook-count N        webhook phase: N notifications with channels ['hook'], posted as batch
                           requests (--batch-lanes × --batch-size), until a local receiver has every
                           one → deliveries/s; 0 skips it (${FULL.webhookCount.toLocaleString('en-US')})
  --webhook-naive-count N  the same on the naive pass's fresh gateways with DELIVERY_CLAIM_BATCH=1
                           DELIVERY_CONCURRENCY=1 (one claim, one send at a time); 0 skips it (${FULL.webhookNaiveCount.toLocaleString('en-US')})
  --webhook-only           only the webhook phase (and its naive run): no clients, no other phase
  --urgent-only            only the urgent phase (urgent-latency.mjs): urgent POST→receipt while a backlog of
                           --urgent-backlog (${FULL.urgentBacklog.toLocaleString('en-US')}) low ones drains to --urgent-backlog-clients (${FULL.urgentBacklogClients})
                           sockets, one urgent POST every --urgent-every (${FULL.urgentEveryMs}) ms; on fresh gateways with
                           out-of-band emits on, then with URGENT_OUT_OF_BAND=false
  --cost-count N           single-POST cost: N POSTs to one connected user each, --cost-concurrency lanes,
                           until all are received → CPU µs per notification of the gateway, MariaDB and
                           Redis, on the batched and the naive gateways; 0 skips it (${FULL.costCount.toLocaleString('en-US')})
  --cost-concurrency C     lanes of the cost phase (${FULL.costConcurrency})
  --cost-only              only the cost phase (and its naive run), after the clients connect
  --topics                 also the topic phases (topic-broadcast.mjs, presence-churn.mjs), after the others:
                           --topic-clients (${FULL.topicClients.toLocaleString('en-US')}) sockets holding one topic, --topic-rounds (${FULL.topicRounds}) rounds of a
                           durable topic POST, a transient one and a tenant broadcast to the same sockets
                           (the reference) → time to receipt on every socket; then
                           --presence-clients (${FULL.presenceClients.toLocaleString('en-US')}) sockets subscribing/unsubscribing one topic at
                           --presence-rate (${FULL.presenceRate.toLocaleString('en-US')}) operations/s in total for --presence-duration (${FULL.presenceDuration}) s, watched by
                           --presence-watchers (${FULL.presenceWatchers}) sockets in every other round, --presence-rounds (${FULL.presenceRounds}) rounds
                           of each → ops/s, gateway CPU per op, updates per watcher per second, exact counts;
                           --topic-clients 0 / --presence-clients 0 skip either
  --topics-only            only the topic phases (no other clients, no naive pass)
  --missed M               replay: notifications missed before reconnecting (${FULL.missed})
  --workers W              client worker threads (more are added for broadcast sockets)
  --scale                  the latency target: --clients ${SCALE.clients} --rate ${SCALE.rate} --count ${SCALE.count}
  --smoke                  tiny numbers, seconds per setup (the smoke test runs it)
  --no-naive               skip the naive pass (WRITE_BATCHING=false; the naive delivery worker)
  --no-build --out DIR --help
A default run (3 setups, naive pass included) takes about 7-8 minutes on a 2-core box.
The latency target (p99 at 2,000/s with 5,000 clients): npm run bench -- --scale --setups mysql4
The webhook target (≥ 2,000/s, 2 instances on MariaDB): npm run bench -- --setups mysql2 --no-naive --broadcast-clients 0
The single-POST cost (CPU µs per notification, batched and naive): npm run bench -- --setups mysql1 --cost-only
Topic broadcast to 10,000 and presence churn: npm run bench -- --topics-only
`;

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(NUMERIC).map((flag) => [flag, { type: 'string' }])),
      'post-mode': { type: 'string' },
      setups: { type: 'string', default: DEFAULT_SETUPS.join(',') },
      out: { type: 'string', default: join(import.meta.dirname, 'results') },
      smoke: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-naive': { type: 'boolean', default: false },
      'webhook-only': { type: 'boolean', default: false },
      'urgent-only': { type: 'boolean', default: false },
      'cost-only': { type: 'boolean', default: false },
      topics: { type: 'boolean', default: false },
      'topics-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const opts = {
    ...(values.smoke ? SMOKE : FULL),
    ...(values.scale && SCALE),
    smoke: values.smoke,
    scale: values.scale,
    out: values.out,
    build: !values['no-build'],
    naive: !values['no-naive'],
    webhookOnly: values['webhook-only'],
    urgentOnly: values['urgent-only'],
    costOnly: values['cost-only'],
    topics: values.topics || values['topics-only'],
    topicsOnly: values['topics-only'],
  };
  for (const [flag, key] of Object.entries(NUMERIC)) {
    if (values[flag] === undefined) continue;
    const n = Number(values[flag]);
    const zeroAllowed = ZERO_ALLOWED.includes(key);
    if (!(n > 0 || (zeroAllowed && n === 0))) throw new Error(`--${flag} must be a positive number`);
    opts[key] = key === 'duration' || key === 'rate' ? n : Math.round(n);
  }
  if (opts.webhookOnly && opts.webhookCount === 0) throw new Error('--webhook-only with --webhook-count 0 measures nothing');
  if (opts.webhookOnly && opts.urgentOnly) throw new Error('--webhook-only and --urgent-only exclude each other');
  if (opts.costOnly && (opts.webhookOnly || opts.urgentOnly)) throw new Error('--cost-only excludes --webhook-only and --urgent-only');
  if (opts.costOnly && opts.costCount === 0) throw new Error('--cost-only with --cost-count 0 measures nothing');
  if (opts.topicsOnly && (opts.webhookOnly || opts.urgentOnly || opts.costOnly)) {
    throw new Error('--topics-only excludes --webhook-only, --urgent-only and --cost-only');
  }
  if (opts.topics && opts.topicClients === 0 && opts.presenceClients === 0) throw new Error('--topics with --topic-clients 0 and --presence-clients 0 measures nothing');
  if (opts.batchSize > MAX_BATCH_ITEMS) throw new Error(`--batch-size must be at most ${MAX_BATCH_ITEMS} (the gateway's limit)`);
  if (values['post-mode'] !== undefined) {
    if (!POST_MODES.includes(values['post-mode'])) throw new Error(`--post-mode must be one of ${POST_MODES.join(', ')}`);
    opts.postMode = values['post-mode'];
  }
  if ((opts.rate * 10) / 1000 > MAX_BATCH_ITEMS) throw new Error(`--rate above ${MAX_BATCH_ITEMS * 100}/s does not fit 10 ms batches`);
  opts.setups = values.setups.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = opts.setups.filter((s) => !SETUPS[s]);
  if (unknown.length) throw new Error(`unknown setup(s) ${unknown.join(', ')}; choose from ${Object.keys(SETUPS).join(', ')}`);
  return opts;
}
