/**
 * PM2 ecosystem: the production topology (README "Production") — N gateway processes (default 4)
 * on one box, each on its own loopback port, behind nginx/ and joined by Redis.
 *
 *   pm2 start ecosystem.config.js --env production
 *   PM2_CONCURRENT_ACTIONS=1 pm2 reload ecosystem.config.js --env production
 *
 * Reload one instance at a time: pm2 acts on two apps at once by default, which takes
 * half the cluster down together. Sticky clients of the restarting instance reconnect
 * through nginx to another one and resume with replay.
 *
 * Why fork mode with a port per process, not cluster mode: cluster mode shares one port
 * round-robin, so the HTTP requests of one Socket.IO long-polling session land on
 * different processes ("Session ID unknown", HTTP 400). nginx/ pins each client to one
 * port instead (sticky upstream), which keeps polling working for restricted networks
 * and in-app browsers that cannot open a WebSocket.
 *
 * Why one pm2 app per process (notify-0 … notify-3 in namespace "notify") instead of
 * `instances: 4` + `increment_var: 'PORT'`: on `pm2 reload ecosystem.config.js` pm2
 * re-applies env.PORT from this file to every instance, so all of them restart on the
 * base port (https://github.com/Unitech/pm2/issues/4502, reproduced with pm2 7.0.4).
 * Explicit ports survive reloads, restarts and `pm2 resurrect`.
 *
 * ESM: this package is "type": "module" and pm2 loads this file with require(). Node
 * >= 20.19 (package.json engines) can require() an ES module and returns its namespace,
 * so the named `apps` export below is what pm2 reads (`export default` would not be).
 *
 * Env read here (the pm2 CLI's environment, re-read on every reload from this file):
 *   NOTIFY_BASE_PORT (3001)  first instance port; instance i listens on base + i
 *   NOTIFY_INSTANCES (4)     process count; nginx/upstream*.conf and prometheus/ list 4
 *   NOTIFY_LOG_DIR (./logs)  pm2 log files; "none" sends them to /dev/null (Docker:
 *                            pm2-runtime already streams to stdout)
 * plus the gateway's own variables in PASSTHROUGH, so `JWT_SECRET=… pm2 reload
 * ecosystem.config.js` rotates a secret without deleting the apps.
 */
import { join } from 'node:path';

const here = import.meta.dirname;

/**
 * Gateway variables copied from the pm2 CLI's environment: every setting of
 * src/config/config.ts but PORT (per instance) and NODE_ENV (env_production);
 * test/deploy/ecosystem.test.ts fails when one is missing.
 */
const PASSTHROUGH = [
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_KEY_PREFIX',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'NOTIFY_API_KEYS',
  'LOG_LEVEL',
  'DB_POOL_MAX',
  'DB_ACQUIRE_TIMEOUT_MS',
  'RELAY_POLL_MS',
  'RELAY_BATCH_SIZE',
  'STREAM_PARTITIONS',
  'RELAY_LEASE_RETRY_MS',
  'REPLAY_RETENTION_HOURS',
  'INBOX_RETENTION_DAYS',
  'REPLAY_PAGE_SIZE',
  'URGENT_OUT_OF_BAND',
  'SOCKET_PING_INTERVAL_MS',
  'SOCKET_PING_TIMEOUT_MS',
  'DEMO_PAGE',
  'NOTIFY_RATE_PER_KEY',
  'NOTIFY_RECIPIENTS_PER_KEY',
  'NOTIFY_RATE_WINDOW_SECONDS',
  'METRIC_KINDS',
  'METRIC_KIND_LIMIT',
  'AUDIT_KINDS',
  'AUDIT_RETENTION_DAYS',
  'WRITE_BATCHING',
  'WRITE_BATCH_MAX',
  'SOCKET_MAX_BUFFERED_BYTES',
  'CORS_ORIGINS',
  'HTTP_HEADERS_TIMEOUT_MS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'HTTP_KEEP_ALIVE_TIMEOUT_MS',
  'FANOUT_PER_REQUEST',
  'FANOUT_PER_SECOND',
  'CONNECT_RATE_PER_IP',
  'CONNECT_RATE_WINDOW_SECONDS',
  'MAX_SOCKETS_PER_USER',
  'MAX_STREAMS_PER_USER',
  'SOCKET_EVENTS_PER_SECOND',
  'SOCKET_EVENTS_BURST',
  'POLICY_CACHE_ENTRIES',
  'POLICY_CACHE_TTL_SECONDS',
  'MAX_TOPICS_PER_SOCKET',
  'SUBSCRIBE_CHECK_URL',
  'SUBSCRIBE_CHECK_TIMEOUT_MS',
  'SUBSCRIBE_CHECK_CACHE_SECONDS',
  'SUBSCRIBE_CHECK_CACHE_ENTRIES',
  'PRESENCE_TTL_SECONDS',
  'PRESENCE_INTERVAL_MS',
  'DELIVERY_WORKER',
  'DELIVERY_CONCURRENCY',
  'DELIVERY_CLAIM_BATCH',
  'DELIVERY_POLL_MS',
  'DELIVERY_MAX_ATTEMPTS',
  'DELIVERY_BACKOFF_BASE_MS',
  'DELIVERY_BACKOFF_CAP_MS',
  'DELIVERY_VISIBILITY_TIMEOUT_MS',
  'ALLOW_PRIVATE_WEBHOOKS',
  'WEBHOOK_TIMEOUT_MS',
  'WECOM_ROBOT_LIMIT',
  'WECOM_ROBOT_WINDOW_MS',
  'EMAIL_LIMIT_PER_RECIPIENT',
  'WEBPUSH_LIMIT_PER_RECIPIENT',
  'RECIPIENT_LIMIT_WINDOW_SECONDS',
  'SMTP_URL',
  'EMAIL_FROM',
  'SMTP_TIMEOUT_MS',
  'VAPID_PUBLIC_KEY',
  'VAPID_PRIVATE_KEY',
  'VAPID_SUBJECT',
];

function intFromEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`ecosystem.config.js: ${name}=${raw} must be an integer in ${min}..${max}`);
  }
  return value;
}

const instances = intFromEnv('NOTIFY_INSTANCES', 4, 1, 64);
const basePort = intFromEnv('NOTIFY_BASE_PORT', 3001, 1, 65535 - instances);
const logDir = process.env.NOTIFY_LOG_DIR || join(here, 'logs');
const logFile = (name, stream) => (logDir === 'none' ? '/dev/null' : join(logDir, `${name}.${stream}.log`));

const passthrough = Object.fromEntries(
  PASSTHROUGH.filter((key) => process.env[key] !== undefined && process.env[key] !== '').map((key) => [key, process.env[key]]),
);

export const apps = Array.from({ length: instances }, (_, i) => {
  const name = `notify-${i}`;
  return {
    name,
    namespace: 'notify',
    script: 'dist/src/main.js',
    cwd: here,
    exec_mode: 'fork',
    instances: 1,
    // V8 collects harder before pm2's RSS limit restarts the process; 4 × 512 MB leaves
    // room for MySQL, Redis and nginx on a 4 GB box.
    node_args: ['--max-old-space-size=384'],
    max_memory_restart: '512M',
    // pm2 sends SIGINT, the gateway drains within its 10 s deadline (src/main.ts), so
    // SIGKILL must come later than that or a draining relay batch is cut short.
    kill_timeout: 12_000,
    // Rolling reload: pm2 moves on to the next app only when this one is ready — the
    // gateway sends process.send('ready') once it listens (src/main.ts). Without
    // wait_ready pm2 moved on at spawn, and `pm2 reload` had all four instances down at
    // once (test/deploy/cluster.test.ts). listen_timeout bounds a start that hangs
    // (e.g. waiting for the migration lock).
    wait_ready: true,
    listen_timeout: 30_000,
    // A crash loop (e.g. MySQL down at start) backs off instead of hammering the DB.
    exp_backoff_restart_delay: 100,
    // One file per app as named here (without it pm2 appends "-<pm_id>").
    merge_logs: true,
    out_file: logFile(name, 'out'),
    error_file: logFile(name, 'error'),
    env: {
      ...passthrough,
      PORT: String(basePort + i),
      // Instances are reached only through nginx and by Prometheus on the same host.
      HOST: process.env.HOST || '127.0.0.1',
      // nginx is the only proxy; it replaces X-Forwarded-For (nginx/notify-gateway.conf).
      TRUST_PROXY: process.env.TRUST_PROXY || 'loopback',
    },
    env_production: {
      NODE_ENV: 'production',
    },
  };
});
