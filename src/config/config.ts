/**
 * Configuration: an explicit list of environment variables → one zod schema → a
 * deep-frozen object. Malformed values fail fast at start; nothing is read from
 * `process.env` anywhere else.
 */
import { MAX_STREAM_PARTITIONS } from '../stream/stream-partitions.js';
import { z } from 'zod';
import { APP_ID, DEFAULT_APP } from '../apps/app-scope.js';

const boolFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Comma-separated keys: `key` (any tenant of the default app), `key:tenant` (one tenant),
 * `key:tenant:app` (one tenant of an app), `key::app` (any tenant of an app). A key is
 * bound to exactly one app (README "Apps").
 */
const apiKeysFromEnv = z.string().transform((raw, ctx) => {
  const keys: ApiKeySpec[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, tenant, app, extra] = part.split(':');
    const anyTenantOfApp = tenant === '' && app !== undefined;
    if (!key || key.length < 16 || extra !== undefined || (tenant === '' && !anyTenantOfApp) || app === '') {
      ctx.addIssue({ code: 'custom', message: 'each key must be "key", "key:tenant", "key:tenant:app" or "key::app", key at least 16 characters' });
      return z.NEVER;
    }
    if (tenant && !TENANT_ID.test(tenant)) {
      ctx.addIssue({ code: 'custom', message: `tenant "${tenant}" does not match ${TENANT_ID}` });
      return z.NEVER;
    }
    if (app !== undefined && !APP_ID.test(app)) {
      ctx.addIssue({ code: 'custom', message: `app "${app}" does not match ${APP_ID}` });
      return z.NEVER;
    }
    keys.push({ key, tenantId: tenant || null, app: app ?? DEFAULT_APP });
  }
  return keys;
});

/** A comma-separated list (duplicates dropped); every entry must match `pattern`. */
const listFromEnv = (pattern: RegExp, what: string) =>
  z.string().transform((raw, ctx) => {
    const items = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
    const bad = items.find((item) => !pattern.test(item));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `"${bad}" is not ${what}` });
      return z.NEVER;
    }
    return items;
  });
const KIND_OR_FAMILY = /^[a-z][a-z0-9_.:-]{0,63}$/;
const KIND_OR_FAMILY_PATTERN = /^(?:[a-z][a-z0-9_.:-]{0,63}|[a-z][a-z0-9_.-]{0,62}:\*)$/;

/**
 * Comma-separated origins, each exactly as a browser sends it: `scheme://host[:port]`,
 * http(s), lower case, no default port, no path or trailing slash.
 */
const originsFromEnv = z.string().transform((raw, ctx) => {
  const origins = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const origin of origins) {
    let canonical: string | null = null;
    try {
      const url = new URL(origin);
      if (url.protocol === 'http:' || url.protocol === 'https:') canonical = url.origin;
    } catch {
      // not a URL
    }
    if (canonical !== origin) {
      const hint = canonical ? ` (write it as "${canonical}")` : '';
      ctx.addIssue({ code: 'custom', message: `"${origin}" is not an http(s) origin scheme://host[:port] without a path${hint}` });
      return z.NEVER;
    }
  }
  return origins;
});

/** Redis Cluster seed nodes: comma-separated `host:port` (`[v6]:port`); any few of the nodes will do. */
const clusterNodesFromEnv = z.string().transform((raw, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const item of [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))]) {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'name at least one host:port' });
    return z.NEVER;
  }
  return nodes;
});

/** Tenant ids never contain ':' so that room names `user:<tid>:<uid>` cannot collide. */
export const TENANT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ApiKeySpec {
  key: string;
  /** null: the key may notify any tenant (of its app). */
  tenantId: string | null;
  /** The app the key is bound to (apps/app-scope.ts); `default` unless configured. */
  app: string;
}

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** @default 3000 */
    PORT: intFromEnv(0, 65535).default(3000),
    /** @default "0.0.0.0" */
    HOST: z.string().min(1).default('0.0.0.0'),
    /** `mysql://…` or `sqlite:<file>`. @default "sqlite:./data/notify.db" */
    DATABASE_URL: z
      .string()
      .regex(/^(mysql:\/\/|sqlite:)/, 'must start with mysql:// or sqlite:')
      .default('sqlite:./data/notify.db'),
    /** Unset → one process with the in-process adapter. */
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    /** Redis Cluster (7+) seed nodes `host:port,…` instead of REDIS_URL; unset → REDIS_URL decides. */
    REDIS_CLUSTER_NODES: clusterNodesFromEnv.optional(),
    /** Prefix of every Redis channel, so several gateways can share one Redis. @default "notify" */
    REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).default('notify'),
    JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
    /** PEM; RS256 or ES256 tokens. */
    JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key' }).optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    NOTIFY_API_KEYS: apiKeysFromEnv.optional(),
    /** pino level. @default "info" */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** How far back a reconnecting client can resume. @default 24 */
    REPLAY_RETENTION_HOURS: intFromEnv(1, 24 * 30).default(24),
    /** History kept for the notification center. @default 30 */
    INBOX_RETENTION_DAYS: intFromEnv(1, 3650).default(30),
    /** Relay fallback poll when no wake-up arrives. @default 500 */
    RELAY_POLL_MS: intFromEnv(10, 60_000).default(500),
    /** Outbox rows emitted per relay batch. @default 500 */
    RELAY_BATCH_SIZE: intFromEnv(1, 5000).default(500),
    /**
     * Partitions of the stream: a tenant's writes lock its partition's sequence row only,
     * and each partition has its own relay and planner (leases spread over instances).
     * Changing it means stopping every instance first (src/stream/stream-layout.ts). @default 1
     */
    STREAM_PARTITIONS: intFromEnv(1, MAX_STREAM_PARTITIONS).default(1),
    /** How often a follower tries to take the relay lease. @default 1000 */
    RELAY_LEASE_RETRY_MS: intFromEnv(50, 60_000).default(1000),
    /** Notifications per replay query page. @default 200 */
    REPLAY_PAGE_SIZE: intFromEnv(1, 5000).default(200),
    /** Group-commit concurrent notify requests (false: one transaction each, for comparison). @default true */
    WRITE_BATCHING: boolFromEnv.default(true),
    /** Most notifications in one group commit. @default 500 */
    WRITE_BATCH_MAX: intFromEnv(1, 5000).default(500),
    /** Emit urgent notifications to their sockets right after commit, ahead of the relay (false: in order only). @default true */
    URGENT_OUT_OF_BAND: boolFromEnv.default(true),
    /** A socket whose unsent backlog exceeds this is dropped (it reconnects and replays). @default 4 MiB */
    SOCKET_MAX_BUFFERED_BYTES: intFromEnv(16 * 1024, 1024 ** 3).default(4 * 1024 * 1024),
    /**
     * The gateway pings every socket this often. Also the longest a quiet connection stays
     * silent, so it must stay well under proxy idle timeouts (nginx proxy_read_timeout:
     * 60 s by default). At least 1 s, which also catches a value given in seconds. @default 25000
     */
    SOCKET_PING_INTERVAL_MS: intFromEnv(1000, 300_000).default(25_000),
    /**
     * How long a ping waits for its pong before the socket is dropped. Browsers answer from
     * the socket's message handler, which hidden-tab timer throttling does not delay; this
     * is slack for a busy or slow client. @default 20000
     */
    SOCKET_PING_TIMEOUT_MS: intFromEnv(1000, 120_000).default(20_000),
    /** Per instance; budget instances × this under MySQL max_connections. @default 10 */
    DB_POOL_MAX: intFromEnv(1, 200).default(10),
    /** How long a request waits for a store connection before 503. @default 5000 */
    DB_ACQUIRE_TIMEOUT_MS: intFromEnv(100, 60_000).default(5000),
    /** Serve the /demo page. @default true outside production */
    DEMO_PAGE: boolFromEnv.optional(),
    /** Express "trust proxy" value, e.g. "loopback" behind nginx. @default false */
    TRUST_PROXY: z.string().min(1).optional(),
    /** Origins allowed cross-origin (REST, SSE, Socket.IO), comma-separated `scheme://host[:port]`. @default none (same-origin only) */
    CORS_ORIGINS: originsFromEnv.default([]),
    /** A client must send a request's headers within this, counted from the connection for its first request (a connection sending nothing is closed too); else 408. @default 10000 */
    HTTP_HEADERS_TIMEOUT_MS: intFromEnv(100, 600_000).default(10_000),
    /** A client must send a whole request (headers and body) within this; at least HTTP_HEADERS_TIMEOUT_MS. Streams are not cut once their request arrived. @default 30000 */
    HTTP_REQUEST_TIMEOUT_MS: intFromEnv(100, 3_600_000).default(30_000),
    /** An idle keep-alive connection is closed after this (Node adds 1 s of slack). @default 5000 */
    HTTP_KEEP_ALIVE_TIMEOUT_MS: intFromEnv(100, 600_000).default(5_000),

    // Notify limits per API key (src/limits/, src/http/notify-limits.ts), metric labels, audit log.
    /** Notifications per API key per second (a batch counts its items); 0 = no limit. @default 200 */
    NOTIFY_RATE_PER_KEY: intFromEnv(0, 10_000_000).default(200),
    /** Recipients per API key per second (a tenant broadcast counts 1); 0 = no limit. @default 20000 */
    NOTIFY_RECIPIENTS_PER_KEY: intFromEnv(0, 1_000_000_000).default(20_000),
    /** Both notify limits are counted over windows this long: a key may spend a whole window's budget at once. @default 10 */
    NOTIFY_RATE_WINDOW_SECONDS: intFromEnv(1, 3600).default(10),
    /** Recipients one notify request may reach, its notifications together (a tenant broadcast counts 1); more → 413 whole. From one notification's most (1000) to a full batch's (500 × 1000). @default 200000 */
    FANOUT_PER_REQUEST: intFromEnv(1000, 500_000).default(200_000),
    /** Recipients per second accepted from all API keys together (a tenant broadcast counts 1), over NOTIFY_RATE_WINDOW_SECONDS windows, shared by the instances through Redis; 0 = no limit. @default 100000 */
    FANOUT_PER_SECOND: intFromEnv(0, 100_000_000).default(100_000),

    // Realtime connection limits (src/limits/connection-limits.ts); 0 turns one off.
    /** New sockets and SSE streams per client address (TRUST_PROXY applies) per second. @default 20 */
    CONNECT_RATE_PER_IP: intFromEnv(0, 1_000_000).default(20),
    /** CONNECT_RATE_PER_IP is counted over windows this long: up to rate × window at once. @default 2 */
    CONNECT_RATE_WINDOW_SECONDS: intFromEnv(1, 3600).default(2),
    /** Open sockets per user (across instances with REDIS_URL); the newest is refused. @default 20 */
    MAX_SOCKETS_PER_USER: intFromEnv(0, 100_000).default(20),
    /** Open SSE streams per user (across instances with REDIS_URL); the newest is refused. @default 5 */
    MAX_STREAMS_PER_USER: intFromEnv(0, 100_000).default(5),
    /** Events a socket may send per second (acks, token refreshes, anything). @default 20 */
    SOCKET_EVENTS_PER_SECOND: intFromEnv(0, 100_000).default(20),
    /** Events a socket may send at once before SOCKET_EVENTS_PER_SECOND applies. @default 40 */
    SOCKET_EVENTS_BURST: intFromEnv(1, 1_000_000).default(40),
    /** Kinds or families kept whole as the `kind` metric label (others: their family). @default none */
    METRIC_KINDS: listFromEnv(KIND_OR_FAMILY, 'a kind or kind family').default([]),
    /** Distinct unregistered `kind` label values per process; beyond → "other". @default 50 */
    METRIC_KIND_LIMIT: intFromEnv(1, 10_000).default(50),
    /** Kinds whose notifications are written to the audit log: `kind` or `family:*`. @default none */
    AUDIT_KINDS: listFromEnv(KIND_OR_FAMILY_PATTERN, 'a kind or "family:*"').default([]),
    /** How long audit rows are kept. @default 90 */
    AUDIT_RETENTION_DAYS: intFromEnv(1, 3650).default(90),
    /** Entries of the per-instance preferences cache (users, tenant defaults, kind defaults). @default 100000 */
    POLICY_CACHE_ENTRIES: intFromEnv(100, 10_000_000).default(100_000),
    /** Longest a cached preference lives, in case a cross-instance invalidation was lost. @default 60 */
    POLICY_CACHE_TTL_SECONDS: intFromEnv(1, 86_400).default(60),

    // Topics and presence (src/topics/, src/presence/).
    /** Topics one socket may hold (subscribe), and watch (presence:subscribe); more → denied `too_many_topics`. @default 100 */
    MAX_TOPICS_PER_SOCKET: intFromEnv(1, 10_000).default(100),
    /** The back end's subscribe check: POST `{ app, tenantId, userId, topic }` → `{ allow, reason? }`; unset: the token's `topics` claim only. */
    SUBSCRIBE_CHECK_URL: z.string().regex(/^https?:\/\//, 'must start with http:// or https://').optional(),
    /** One subscribe check; slower counts as down (denied `check_unavailable`). @default 2000 */
    SUBSCRIBE_CHECK_TIMEOUT_MS: intFromEnv(50, 60_000).default(2000),
    /** How long a subscribe check's answer is reused for the same (app, tenant, user, topic). @default 30 */
    SUBSCRIBE_CHECK_CACHE_SECONDS: intFromEnv(1, 3600).default(30),
    /** Subscribe-check answers cached per instance. @default 100000 */
    SUBSCRIBE_CHECK_CACHE_ENTRIES: intFromEnv(100, 10_000_000).default(100_000),
    /** A killed instance's sockets leave every presence count within this (Redis entries expire; renewed every third of it). @default 10 */
    PRESENCE_TTL_SECONDS: intFromEnv(1, 3600).default(10),
    /** Presence watchers get at most one update per topic per interval, and only on change. @default 1000 */
    PRESENCE_INTERVAL_MS: intFromEnv(100, 60_000).default(1000),

    // External delivery (src/delivery/).
    /** Run a delivery worker in this instance (every instance by default). @default true */
    DELIVERY_WORKER: boolFromEnv.default(true),
    /** Sends in flight per instance. @default 32 */
    DELIVERY_CONCURRENCY: intFromEnv(1, 1000).default(32),
    /** Rows claimed per queue query. @default 50 */
    DELIVERY_CLAIM_BATCH: intFromEnv(1, 1000).default(50),
    /** How often an idle worker looks for due deliveries. @default 500 */
    DELIVERY_POLL_MS: intFromEnv(10, 60_000).default(500),
    /** Attempts before a delivery is dead. @default 10 */
    DELIVERY_MAX_ATTEMPTS: intFromEnv(1, 100).default(10),
    /** First retry delay (doubles per attempt, jittered). @default 2000 */
    DELIVERY_BACKOFF_BASE_MS: intFromEnv(1, 3_600_000).default(2000),
    /** Longest retry delay. @default 3600000 (1 h) */
    DELIVERY_BACKOFF_CAP_MS: intFromEnv(1, 7 * 86_400_000).default(3_600_000),
    /** A `sending` row locked longer than this (its worker died) is sent again. @default 120000 */
    DELIVERY_VISIBILITY_TIMEOUT_MS: intFromEnv(100, 3_600_000).default(120_000),
    /** Let webhook / robot / push URLs reach private, loopback and link-local addresses. @default false */
    ALLOW_PRIVATE_WEBHOOKS: boolFromEnv.default(false),
    /** Timeout of one webhook, WeCom or push request. @default 5000 */
    WEBHOOK_TIMEOUT_MS: intFromEnv(100, 60_000).default(5000),
    /** Messages per robot per window (WeCom allows 20 per minute). @default 20 */
    WECOM_ROBOT_LIMIT: intFromEnv(1, 1000).default(20),
    /** The robot's window; a second over WeCom's minute absorbs request latency. @default 61000 */
    WECOM_ROBOT_WINDOW_MS: intFromEnv(100, 3_600_000).default(61_000),
    /** Emails per recipient per window; more are folded into one digest at the window's end. 0 = no limit. @default 5 */
    EMAIL_LIMIT_PER_RECIPIENT: intFromEnv(0, 100_000).default(5),
    /** Browser pushes per recipient per window (folded like email). 0 = no limit. @default 20 */
    WEBPUSH_LIMIT_PER_RECIPIENT: intFromEnv(0, 100_000).default(20),
    /** The window of the per-recipient limits. @default 60 */
    RECIPIENT_LIMIT_WINDOW_SECONDS: intFromEnv(1, 86_400).default(60),
    /** `smtp://user:pass@host:587` or `smtps://…`; unset → no email channel. */
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
    /** The From of notification mail, e.g. `Notify <notify@example.com>`. */
    EMAIL_FROM: z.string().min(3).max(320).optional(),
    /** Timeout of one SMTP exchange step. @default 10000 */
    SMTP_TIMEOUT_MS: intFromEnv(100, 120_000).default(10_000),
    /** VAPID keys (web-push generate-vapid-keys) and subject (mailto: or https:); all three or none. */
    VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/, 'URL-safe base64 of a P-256 public key').optional(),
    VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{40,50}$/, 'URL-safe base64 of a P-256 private key').optional(),
    VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, 'mailto: or https: URL').optional(),
  })
  .strict();

type ParsedEnv = z.infer<typeof envSchema>;

export interface Config extends Omit<ParsedEnv, 'NOTIFY_API_KEYS' | 'DEMO_PAGE'> {
  NOTIFY_API_KEYS: readonly ApiKeySpec[];
  DEMO_PAGE: boolean;
  isProduction: boolean;
}

export const CONFIG_KEYS = Object.keys(envSchema.shape) as (keyof ParsedEnv)[];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads only the variables this gateway knows; empty strings count as unset so that
 * `FOO=` in a compose file means "default".
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const picked: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const result = envSchema.safeParse(picked);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const parsed = result.data;
  const isProduction = parsed.NODE_ENV === 'production';
  if (parsed.JWT_SECRET && parsed.JWT_PUBLIC_KEY) {
    throw new ConfigError('set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both');
  }
  if (isProduction && !parsed.JWT_SECRET && !parsed.JWT_PUBLIC_KEY) {
    throw new ConfigError('production requires JWT_SECRET or JWT_PUBLIC_KEY to verify user tokens');
  }
  // Two Redis settings would split instances that read them differently: refuse, not guess.
  if (parsed.REDIS_URL && parsed.REDIS_CLUSTER_NODES) throw new ConfigError('set either REDIS_URL or REDIS_CLUSTER_NODES, not both');
  if (parsed.SMTP_URL && !parsed.EMAIL_FROM) throw new ConfigError('SMTP_URL is set: EMAIL_FROM is required too');
  const vapid = [parsed.VAPID_PUBLIC_KEY, parsed.VAPID_PRIVATE_KEY, parsed.VAPID_SUBJECT].filter(Boolean).length;
  if (vapid !== 0 && vapid !== 3) throw new ConfigError('set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT together');
  // A send still running when its lock expires would be sent again by another worker.
  const longestSend = Math.max(parsed.WEBHOOK_TIMEOUT_MS, parsed.SMTP_URL ? parsed.SMTP_TIMEOUT_MS : 0);
  if (parsed.DELIVERY_VISIBILITY_TIMEOUT_MS <= longestSend) {
    throw new ConfigError('DELIVERY_VISIBILITY_TIMEOUT_MS must be longer than WEBHOOK_TIMEOUT_MS (and SMTP_TIMEOUT_MS with SMTP_URL)');
  }
  if (parsed.HTTP_HEADERS_TIMEOUT_MS > parsed.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  }
  if (isProduction && !parsed.NOTIFY_API_KEYS?.length) {
    throw new ConfigError('production requires NOTIFY_API_KEYS (comma-separated "key" or "key:tenant")');
  }
  return deepFreeze({
    ...parsed,
    NOTIFY_API_KEYS: parsed.NOTIFY_API_KEYS ?? [],
    DEMO_PAGE: parsed.DEMO_PAGE ?? !isProduction,
    isProduction,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
