/**
 * Preferences (README "Preferences"):
 *
 *   user token  GET | PUT | DELETE /api/preferences                   the user's own document
 *   API key     GET | PUT | DELETE /api/tenants/:tenantId/preferences the tenant's default
 *   API key     GET /api/kinds · GET | PUT | DELETE /api/kinds/:kind  a tenant's kind defaults
 *
 * Rules:
 * - A user token reaches only its own (tenant, user) document; the tenant comes from the
 *   token. A tenant-bound API key reaches only its tenant (else 403 FORBIDDEN_TENANT); a
 *   key for any tenant names it in the path, or for kinds with `?tenantId=` (default
 *   `default`).
 * - PUT replaces the whole document; DELETE resets to nothing stored.
 * - Every change invalidates the policy caches of all instances (`onPolicyChange`):
 *   it applies to notifications written after it. API-key changes leave an audit row.
 */
import { publicTenant, storageTenant } from '../apps/app-scope.js';
import { Router, type Request } from 'express';
import { TENANT_ID } from '../config/config.js';
import type { PolicyChange } from '../policy/policy-change.js';
import { kindDefaultsSchema, preferenceDocumentSchema, type PreferenceDocument } from '../policy/preferences.js';
import type { KindDefaultsRecord, PreferenceRepository } from '../store/preference-repository.js';
import { requireApiKey, tenantOf, validationError, type AdminAuthDeps } from './admin-auth.js';
import { keyActor, type AuditLog } from './audit-routes.js';
import { HttpError } from './errors.js';
import { KIND } from './notify-schema.js';
import { authenticate, type UserAuthDeps } from './user-auth.js';

export interface PreferenceRouteDeps extends AdminAuthDeps, UserAuthDeps {
  preferences: PreferenceRepository;
  audit: AuditLog;
  /** Drops the change from this instance's policy cache and tells the other instances. */
  onPolicyChange: (change: PolicyChange) => void;
}

/** A stored document at most; read on every notification's policy check, so kept small. */
export const MAX_DOCUMENT_BYTES = 16 * 1024;

export function preferenceRoutes(deps: PreferenceRouteDeps): Router {
  const router = Router();
  const { preferences } = deps;

  router.get('/api/preferences', async (req, res) => {
    const { tenantId, userId } = authenticate(deps, req, res, 'rest');
    const [own, tenant] = await Promise.all([preferences.getUser(tenantId, userId), preferences.getTenantDefaults(tenantId)]);
    res.json({ ...present(own), tenantDefaults: present(tenant) });
  });

  router.put('/api/preferences', async (req, res) => {
    const { tenantId, userId } = authenticate(deps, req, res, 'rest');
    const document = documentOf(req.body);
    await preferences.putUser(tenantId, userId, document);
    deps.onPolicyChange({ tenantId, userId });
    res.json({ ...present(document), tenantDefaults: present(await preferences.getTenantDefaults(tenantId)) });
  });

  router.delete('/api/preferences', async (req, res) => {
    const { tenantId, userId } = authenticate(deps, req, res, 'rest');
    await preferences.deleteUser(tenantId, userId);
    deps.onPolicyChange({ tenantId, userId });
    res.status(204).end();
  });

  router.get('/api/tenants/:tenantId/preferences', async (req, res) => {
    const tenantId = pathTenant(deps, req);
    res.json({ tenantId: publicTenant(tenantId), ...present(await preferences.getTenantDefaults(tenantId)) });
  });

  router.put('/api/tenants/:tenantId/preferences', async (req, res) => {
    const tenantId = pathTenant(deps, req);
    const document = documentOf(req.body);
    const created = await preferences.putTenantDefaults(tenantId, document);
    deps.onPolicyChange({ tenantId, tenantDefaults: true });
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'preferences.put', target: publicTenant(tenantId), details: { created } });
    res.json({ tenantId: publicTenant(tenantId), ...present(document) });
  });

  router.delete('/api/tenants/:tenantId/preferences', async (req, res) => {
    const tenantId = pathTenant(deps, req);
    if (await preferences.deleteTenantDefaults(tenantId)) {
      deps.onPolicyChange({ tenantId, tenantDefaults: true });
      await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'preferences.delete', target: publicTenant(tenantId) });
    }
    res.status(204).end();
  });

  router.get('/api/kinds', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const kinds = await preferences.listKinds(tenantId);
    res.json({ tenantId: publicTenant(tenantId), kinds: kinds.map(({ kind, defaults, updatedAt }) => ({ kind, defaults, updatedAt: new Date(updatedAt).toISOString() })) });
  });

  router.get('/api/kinds/:kind', async (req, res) => {
    const found = await preferences.getKind(tenantOf(deps, req), kindOf(req.params.kind));
    if (!found) throw new HttpError('NOT_FOUND', 'no defaults stored for this kind');
    res.json(presentKind(found));
  });

  router.put('/api/kinds/:kind', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const kind = kindOf(req.params.kind);
    const parsed = kindDefaultsSchema.safeParse(req.body);
    if (!parsed.success) throw validationError('the kind defaults are invalid', parsed.error.issues);
    const created = await preferences.putKind(tenantId, kind, parsed.data);
    deps.onPolicyChange({ tenantId, kind });
    await deps.audit.record({
      tenantId,
      actor: keyActor(requireApiKey(deps, req)),
      action: 'kind.put',
      target: kind,
      details: { created, fields: Object.keys(parsed.data).sort() },
    });
    res.status(created ? 201 : 200).json(presentKind((await preferences.getKind(tenantId, kind))!));
  });

  router.delete('/api/kinds/:kind', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const kind = kindOf(req.params.kind);
    if (!(await preferences.deleteKind(tenantId, kind))) throw new HttpError('NOT_FOUND', 'no defaults stored for this kind');
    deps.onPolicyChange({ tenantId, kind });
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'kind.delete', target: kind });
    res.status(204).end();
  });

  return router;
}

function documentOf(body: unknown): PreferenceDocument {
  const parsed = preferenceDocumentSchema.safeParse(body);
  if (!parsed.success) throw validationError('the preferences are invalid', parsed.error.issues);
  const bytes = Buffer.byteLength(JSON.stringify(parsed.data));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new HttpError('PAYLOAD_TOO_LARGE', `preferences must serialise to at most ${MAX_DOCUMENT_BYTES} bytes`, { max: MAX_DOCUMENT_BYTES, bytes });
  }
  return parsed.data;
}

/** The tenant in the path, which a tenant-bound key must match: its storage key within the key's app. */
function pathTenant(deps: AdminAuthDeps, req: Request): string {
  const grant = requireApiKey(deps, req);
  const tenantId = req.params.tenantId;
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
    throw new HttpError('VALIDATION_FAILED', 'tenantId: letters, digits, "_", "." or "-", up to 64', [{ path: 'tenantId', message: 'invalid tenant id' }]);
  }
  if (grant.tenantId !== null && grant.tenantId !== tenantId) {
    deps.metrics.authFailures.inc({ reason: 'tenant_mismatch' });
    throw new HttpError('FORBIDDEN_TENANT', `this API key may only manage tenant "${grant.tenantId}"`);
  }
  return storageTenant(grant.app, tenantId);
}

function kindOf(raw: unknown): string {
  if (typeof raw !== 'string' || !KIND.test(raw)) {
    throw new HttpError('VALIDATION_FAILED', `kind must match ${KIND}`, [{ path: 'kind', message: `must match ${KIND}` }]);
  }
  return raw;
}

/** Empty objects when nothing is stored, so clients need no null checks. */
function present(document: PreferenceDocument | null) {
  return { channels: document?.channels ?? {}, kinds: document?.kinds ?? {} };
}

function presentKind(record: KindDefaultsRecord) {
  return { tenantId: publicTenant(record.tenantId), kind: record.kind, defaults: record.defaults, updatedAt: new Date(record.updatedAt).toISOString() };
}
