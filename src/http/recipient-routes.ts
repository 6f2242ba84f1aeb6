/**
 * A user's addresses for external channels (API key): `PUT`, `GET`, `DELETE
 * /api/recipients/:userId`. PUT replaces the whole record: a field left out is cleared.
 * PUT and DELETE leave a row in the audit log (the names of the fields set, never their values).
 */
import { publicTenant } from '../apps/app-scope.js';
import { Router } from 'express';
import { z } from 'zod';
import type { RecipientRecord, RecipientRepository } from '../store/recipient-repository.js';
import { requireApiKey, tenantOf, validationError, type AdminAuthDeps } from './admin-auth.js';
import { keyActor, type AuditLog } from './audit-routes.js';
import { HttpError } from './errors.js';

export interface RecipientRouteDeps extends AdminAuthDeps {
  recipients: RecipientRepository;
  audit: AuditLog;
}

export const recipientBody = z
  .object({
    email: z.email().max(254).optional(),
    mobile: z.string().regex(/^\+?[0-9]{5,20}$/, 'digits, optionally with a leading +').optional(),
    wecomUserId: z.string().min(1).max(64).optional(),
    locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'a BCP 47 tag such as zh-CN').max(35).optional(),
    timezone: z
      .string()
      .max(64)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as Asia/Shanghai')
      .optional(),
  })
  .strict();

export const USER_ID = /^[^\s\u0000-\u001f]{1,128}$/u;

export function recipientRoutes(deps: RecipientRouteDeps): Router {
  const router = Router();

  router.put('/api/recipients/:userId', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const userId = userIdOf(req.params.userId);
    const parsed = recipientBody.safeParse(req.body);
    if (!parsed.success) throw validationError('the recipient is invalid', parsed.error.issues);
    const b = parsed.data;
    const created = await deps.recipients.put(tenantId, userId, {
      email: b.email ?? null,
      mobile: b.mobile ?? null,
      wecomUserId: b.wecomUserId ?? null,
      locale: b.locale ?? null,
      timezone: b.timezone ?? null,
    });
    await deps.audit.record({
      tenantId,
      actor: keyActor(requireApiKey(deps, req)),
      action: 'recipient.put',
      target: userId,
      details: { created, fields: Object.keys(b).sort() },
    });
    res.status(created ? 201 : 200).json({ recipient: present((await deps.recipients.get(tenantId, userId))!) });
  });

  router.get('/api/recipients/:userId', async (req, res) => {
    const found = await deps.recipients.get(tenantOf(deps, req), userIdOf(req.params.userId));
    if (!found) throw new HttpError('NOT_FOUND', 'no such recipient');
    res.json({ recipient: present(found) });
  });

  router.delete('/api/recipients/:userId', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const userId = userIdOf(req.params.userId);
    if (!(await deps.recipients.delete(tenantId, userId))) throw new HttpError('NOT_FOUND', 'no such recipient');
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'recipient.delete', target: userId });
    res.status(204).end();
  });

  return router;
}

function userIdOf(raw: unknown): string {
  if (typeof raw !== 'string' || !USER_ID.test(raw)) throw new HttpError('VALIDATION_FAILED', 'userId: 1..128 characters, no whitespace');
  return raw;
}

function present(r: RecipientRecord) {
  return {
    tenantId: publicTenant(r.tenantId),
    userId: r.userId,
    email: r.email,
    mobile: r.mobile,
    wecomUserId: r.wecomUserId,
    locale: r.locale,
    timezone: r.timezone,
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
