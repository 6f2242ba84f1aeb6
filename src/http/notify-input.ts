/** Shared by the single and batch notify routes: validated body + API key grant → writer input. */
import { appWideKey, storageTenant } from '../apps/app-scope.js';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PolicySource } from '../policy/policy.js';
import type { NotificationInput, WriteResult } from '../outbox/notification-writer.js';
import { HttpError } from './errors.js';
import type { NotifyAudit } from './notify-audit.js';
import type { NotifyLimiter } from './notify-limits.js';
import type { TransientEmitter } from '../topics/transient-emitter.js';
import { KIND, MAX_DATA_BYTES, notifyBodySchema, type NotifyBody } from './notify-schema.js';

export interface NotifyDeps {
  /**
   * Group-committed (or, with WRITE_BATCHING=false, one transaction per call). Inputs
   * submitted with the same `group` take positions in submission order.
   */
  submit: (input: NotificationInput, group?: object) => Promise<WriteResult>;
  checkApiKey: (presented: string | undefined) => ApiKeyGrant | null;
  metrics: Metrics;
  /** Rate limits per API key (notify-limits.ts); unset: none. */
  limits?: NotifyLimiter;
  /** Audit rows for audited kinds, after commit (notify-audit.ts); unset: none. */
  audit?: NotifyAudit;
  /** Preferences and kind defaults (notify-policies.ts); unset: none. */
  policies?: PolicySource;
  /** FANOUT_PER_REQUEST: most recipients of one request's notifications together; unset: none. */
  fanoutPerRequest?: number;
  /** `transient: true`: emits live to every instance, stores nothing (topics/transient-emitter.ts); unset: refused. */
  emitTransient?: TransientEmitter;
  /** STREAM_PARTITIONS in effect; above 1, `scope: "app"` is refused (see toNotificationInput). */
  streamPartitions?: number;
}

export function requireGrant(deps: NotifyDeps, presented: string | undefined): ApiKeyGrant {
  const grant = deps.checkApiKey(presented);
  if (!grant) {
    deps.metrics.authFailures.inc({ reason: 'api_key' });
    throw new HttpError('UNAUTHORIZED', 'missing or unknown X-API-Key');
  }
  return grant;
}

export function checkKind(kind: string): void {
  if (!KIND.test(kind)) {
    throw new HttpError('VALIDATION_FAILED', `kind must match ${KIND}`, [{ path: 'kind', message: 'invalid kind' }]);
  }
}

export function parseNotifyBody(raw: unknown): NotifyBody {
  const parsed = notifyBodySchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new HttpError('VALIDATION_FAILED', 'the notification is invalid', details);
  }
  if (parsed.data.data !== undefined && Buffer.byteLength(JSON.stringify(parsed.data.data)) > MAX_DATA_BYTES) {
    throw new HttpError('PAYLOAD_TOO_LARGE', `data must serialise to at most ${MAX_DATA_BYTES} bytes`);
  }
  return parsed.data;
}

export function toNotificationInput(deps: NotifyDeps, kind: string, body: NotifyBody, grant: ApiKeyGrant): NotificationInput {
  if (body.scope === 'app' && grant.tenantId !== null) {
    deps.metrics.authFailures.inc({ reason: 'tenant_mismatch' });
    throw new HttpError('FORBIDDEN_TENANT', `this API key may only notify tenant "${grant.tenantId}", not the whole app`);
  }
  // An announcement to every tenant of the app is ordered against each tenant's own
  // notifications by its one position; tenants in other partitions count other positions,
  // so replay could skip it there. Refused rather than delivered out of order.
  if (body.scope === 'app' && (deps.streamPartitions ?? 1) > 1) {
    throw new HttpError('VALIDATION_FAILED', 'scope "app" is not available with STREAM_PARTITIONS above 1: send it per tenant', [
      { path: 'scope', message: 'needs one stream partition' },
    ]);
  }
  const tenantId = body.tenantId ?? grant.tenantId ?? 'default';
  if (grant.tenantId !== null && tenantId !== grant.tenantId) {
    deps.metrics.authFailures.inc({ reason: 'tenant_mismatch' });
    throw new HttpError('FORBIDDEN_TENANT', `this API key may only notify tenant "${grant.tenantId}"`);
  }
  return {
    // The storage key: the tenant within the key's app (apps/app-scope.ts).
    tenantId: body.scope === 'app' ? appWideKey(grant.app) : storageTenant(grant.app, tenantId),
    kind,
    scope: body.topics !== undefined ? 'topic' : body.segments !== undefined ? 'segment' : body.scope,
    userIds: body.scope !== 'user' || body.topics !== undefined || body.segments !== undefined ? [] : [...new Set(body.userIds ?? [body.userId!])],
    ...(body.topics !== undefined && { topics: [...new Set(body.topics)] }),
    ...(body.segments !== undefined && { segments: [...new Set(body.segments)] }),
    ...(body.devices !== undefined && { devices: [...new Set(body.devices)] }),
    title: body.title,
    priority: body.priority,
    ...(body.body !== undefined && { body: body.body }),
    ...(body.data !== undefined && { data: body.data }),
    ...(body.dedupeKey !== undefined && { dedupeKey: body.dedupeKey }),
    ...(body.ttlSeconds !== undefined && { ttlSeconds: body.ttlSeconds }),
    // Without channels the kind's default channels may still take link and digestKey (notify-policies.ts).
    ...((body.channels !== undefined || body.link !== undefined || body.digestKey !== undefined) && {
      delivery: {
        channels: [...new Set(body.channels ?? [])],
        ...(body.link !== undefined && { link: body.link }),
        ...(body.mentions !== undefined && { mentions: body.mentions }),
        ...(body.external !== undefined && { external: body.external }),
        ...(body.digestKey !== undefined && { digestKey: body.digestKey }),
      },
    }),
  };
}

/** 201 body for a new notification, 200 body for a dedupe hit; counts both. */
export function answer(deps: NotifyDeps, kind: string, result: WriteResult) {
  if (result.deduped) {
    deps.metrics.dedupeHits.inc();
    return { status: 200, body: { id: result.id, deduped: true as const } };
  }
  deps.metrics.ingested.inc({ kind });
  return { status: 201, body: { id: result.id, deduped: false as const, recipients: result.recipients } };
}
