/**
 * Segments of a tenant (API key): `PUT /api/segments/:name` `{ userIds }` replaces the
 * members, `POST /api/segments/:name/members` `{ add, remove }` changes some,
 * `GET /api/segments` lists, `GET`/`DELETE /api/segments/:name`. A notification with
 * `segments: [...]` reaches the members at the time it is delivered (README "Segments").
 *
 * Member lists are large (up to MAX_MEMBERS_PER_REQUEST ids, a few MB), so these routes
 * parse their own bodies up to SEGMENT_BODY_BYTES (app.ts leaves them alone). Changes
 * leave a row in the audit log with counts, never the ids.
 */
import { Router } from 'express';
import { z } from 'zod';
import { TENANT_ID } from '../config/config.js';
import { firstBadMemberId, MEMBER_ID_MAX, MEMBER_ID_MESSAGE } from '../segments/member-ids.js';
import { SEGMENT_NAME, SEGMENT_NAME_MESSAGE } from '../segments/segment-names.js';
import type { SegmentRepository, SegmentSummary } from '../store/segment-repository.js';
import { requireApiKey, tenantOf, validationError, type AdminAuthDeps } from './admin-auth.js';
import { keyActor, type AuditLog } from './audit-routes.js';
import { HttpError } from './errors.js';
import { jsonBody } from './json-guard.js';

export interface SegmentRouteDeps extends AdminAuthDeps {
  segments: SegmentRepository;
  audit: AuditLog;
}

/** Ids one PUT or POST may carry; larger segments are built with several POSTs. */
export const MAX_MEMBERS_PER_REQUEST = 100_000;
/** 100,000 ids of up to ~36 characters; a single notification stays at 64 KB. */
export const SEGMENT_BODY_BYTES = 4 * 1024 * 1024;
const MEMBERS_PAGE = 1_000;

/** The paths whose bodies these routes parse (app.ts skips its 64 KB parser for them). */
export const isSegmentBodyPath = (path: string): boolean => /^\/api\/segments\/[^/]+(?:\/members)?$/.test(path);

const memberId = z.string().min(1).max(MEMBER_ID_MAX).regex(/^[^\s\u0000-\u001f]+$/u, MEMBER_ID_MESSAGE);
const nonEmptyChange = (b: { add?: unknown[] | undefined; remove?: unknown[] | undefined }) => (b.add?.length ?? 0) + (b.remove?.length ?? 0) > 0;
const changeMessage = { message: 'give add or remove, with at least one user id', path: ['add'] };

/** The documented bodies (openapi/segment-operations.ts). */
export const segmentPutBody = z.object({ userIds: z.array(memberId).max(MAX_MEMBERS_PER_REQUEST) }).strict();
export const segmentMembersBody = z
  .object({ add: z.array(memberId).max(MAX_MEMBERS_PER_REQUEST).optional(), remove: z.array(memberId).max(MAX_MEMBERS_PER_REQUEST).optional() })
  .strict()
  .refine(nonEmptyChange, changeMessage);

/** What the routes parse: the same shapes, the ids then checked in slices (segments/member-ids.ts). */
const idList = z.array(z.unknown()).max(MAX_MEMBERS_PER_REQUEST);
const putShape = z.object({ userIds: idList }).strict();
const changeShape = z.object({ add: idList.optional(), remove: idList.optional() }).strict().refine(nonEmptyChange, changeMessage);
export const segmentGetQuery = z
  .object({
    members: z.enum(['0', '1']).optional(),
    cursor: z.string().max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(MEMBERS_PAGE).default(MEMBERS_PAGE),
    tenantId: z.string().regex(TENANT_ID).optional(),
  })
  .strict();
export const segmentListQuery = z
  .object({ cursor: z.string().max(1024).optional(), limit: z.coerce.number().int().min(1).max(MEMBERS_PAGE).default(100), tenantId: z.string().regex(TENANT_ID).optional() })
  .strict();

export function segmentRoutes(deps: SegmentRouteDeps): Router {
  const router = Router();
  const body = jsonBody(SEGMENT_BODY_BYTES);

  router.put('/api/segments/:name', body, async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = segmentName(req.params.name);
    const parsed = putShape.safeParse(req.body);
    if (!parsed.success) throw validationError('the segment is invalid', parsed.error.issues);
    const userIds = await memberIds(parsed.data.userIds, 'userIds', 'the segment is invalid');
    const { created, summary } = await deps.segments.replace(tenantId, name, userIds);
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'segment.put', target: name, details: { members: summary.members, created } });
    res.status(created ? 201 : 200).json(present(summary));
  });

  router.post('/api/segments/:name/members', body, async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = segmentName(req.params.name);
    const parsed = changeShape.safeParse(req.body);
    if (!parsed.success) throw validationError('the member change is invalid', parsed.error.issues);
    const change = {
      add: await memberIds(parsed.data.add ?? [], 'add', 'the member change is invalid'),
      remove: await memberIds(parsed.data.remove ?? [], 'remove', 'the member change is invalid'),
    };
    const { created, summary } = await deps.segments.change(tenantId, name, change);
    await deps.audit.record({
      tenantId,
      actor: keyActor(requireApiKey(deps, req)),
      action: 'segment.members',
      target: name,
      details: { added: change.add.length, removed: change.remove.length, members: summary.members, created },
    });
    res.status(created ? 201 : 200).json(present(summary));
  });

  router.get('/api/segments', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const parsed = segmentListQuery.safeParse(req.query);
    if (!parsed.success) throw validationError('the query is invalid', parsed.error.issues);
    const { limit, cursor } = parsed.data;
    const page = await deps.segments.list(tenantId, limit + 1, cursor === undefined ? null : decodeCursor(cursor));
    const items = page.slice(0, limit);
    res.json({ segments: items.map(present), nextCursor: page.length > limit ? encodeCursor(items[items.length - 1]!.name) : null });
  });

  router.get('/api/segments/:name', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = segmentName(req.params.name);
    const parsed = segmentGetQuery.safeParse(req.query);
    if (!parsed.success) throw validationError('the query is invalid', parsed.error.issues);
    const { limit, cursor } = parsed.data;
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const summary = await deps.segments.get(tenantId, name);
    if (!summary) throw new HttpError('NOT_FOUND', 'no such segment');
    if (parsed.data.members !== '1') return void res.json(present(summary));
    const page = await deps.segments.members(tenantId, name, limit + 1, after);
    const userIds = page.slice(0, limit);
    res.json({ ...present(summary), userIds, nextCursor: page.length > limit ? encodeCursor(userIds[userIds.length - 1]!) : null });
  });

  router.delete('/api/segments/:name', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = segmentName(req.params.name);
    if (!(await deps.segments.delete(tenantId, name))) throw new HttpError('NOT_FOUND', 'no such segment');
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'segment.delete', target: name });
    res.status(204).end();
  });

  return router;
}

async function memberIds(ids: unknown[], path: string, message: string): Promise<string[]> {
  const bad = await firstBadMemberId(ids, path);
  if (bad) throw validationError(message, [bad]);
  return ids as string[];
}

function segmentName(raw: unknown): string {
  if (typeof raw !== 'string' || !SEGMENT_NAME.test(raw)) {
    throw new HttpError('VALIDATION_FAILED', `segment name: ${SEGMENT_NAME_MESSAGE}`, [{ path: 'name', message: SEGMENT_NAME_MESSAGE }]);
  }
  return raw;
}

const present = (segment: SegmentSummary) => ({ name: segment.name, members: segment.members, updatedAt: new Date(segment.updatedAt).toISOString() });

/** Cursors are opaque to clients: the last name or user id of the page. */
const encodeCursor = (last: string) => Buffer.from(last, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const last = Buffer.from(cursor, 'base64url').toString('utf8');
  if (last.length === 0 || encodeCursor(last) !== cursor) throw new HttpError('VALIDATION_FAILED', 'cursor: pass the nextCursor of the previous page');
  return last;
}
