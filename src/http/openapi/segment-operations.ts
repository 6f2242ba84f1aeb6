/** Segments: named member lists a back end manages, a notification target expanded at delivery. */
import { z } from 'zod';
import { SEGMENT_NAME } from '../../segments/segment-names.js';
import { segmentGetQuery, segmentListQuery, segmentMembersBody, segmentPutBody } from '../segment-routes.js';
import type { ApiOperation } from './api-operation.js';
import { TENANT_QUERY_DOC, tenantQuery } from './api-parameters.js';
import { named } from './schema-registry.js';
import { timestamp } from './wire-schemas.js';

const segment = named(
  'Segment',
  z.object({ name: z.string(), members: z.int().min(0).describe('how many users it holds'), updatedAt: timestamp() }),
  'A segment: its member count and when its membership last changed.',
);
const nextCursor = z.string().nullable().describe('pass as `cursor` for the next page; null: no more');
const segmentPath = { pathParams: z.object({ name: z.string().regex(SEGMENT_NAME) }), paramExamples: { name: 'plan:pro' } };
const tenantDocs = { tenantId: TENANT_QUERY_DOC };
const changed = { 201: { description: 'Created.', schema: segment }, 200: { description: 'Changed.', schema: segment } };

export const segmentOperations: ApiOperation[] = [
  {
    id: 'putSegment',
    method: 'put',
    path: '/api/segments/:name',
    tag: 'segments',
    summary: 'Create a segment or replace its members',
    description:
      'Up to 100,000 user ids (body up to 4 MB), replaced in one transaction: a notification delivered meanwhile reaches the old members or the new ones, never a mix. Larger segments: add the rest with `POST …/members`. Audited (`segment.put`, the count only).',
    auth: 'apiKey',
    ...segmentPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    body: { schema: named('SegmentInput', segmentPutBody, 'The whole membership.'), example: { userIds: ['ada', 'grace'] } },
    responses: changed,
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'changeSegmentMembers',
    method: 'post',
    path: '/api/segments/:name/members',
    tag: 'segments',
    summary: 'Add and remove members',
    description: 'Up to 100,000 ids in each list; a user in both ends up removed. Creates the segment when needed. Audited (`segment.members`, counts only).',
    auth: 'apiKey',
    ...segmentPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    body: { schema: named('SegmentMemberChange', segmentMembersBody), example: { add: ['linus'], remove: ['grace'] } },
    responses: changed,
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listSegments',
    method: 'get',
    path: '/api/segments',
    tag: 'segments',
    summary: 'List the tenant\'s segments',
    description: 'By name.',
    auth: 'apiKey',
    query: segmentListQuery,
    paramDocs: { ...tenantDocs, cursor: 'From the previous page\'s `nextCursor`.', limit: '1 to 1,000 (default 100).' },
    responses: { 200: { description: 'A page.', schema: named('SegmentPage', z.object({ segments: z.array(segment), nextCursor })) } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'getSegment',
    method: 'get',
    path: '/api/segments/:name',
    tag: 'segments',
    summary: 'Read a segment, optionally a page of its members',
    auth: 'apiKey',
    ...segmentPath,
    query: segmentGetQuery,
    paramDocs: { ...tenantDocs, members: '`1`: also a page of member ids, by id.', cursor: 'From the previous page\'s `nextCursor`.', limit: 'Members per page, 1 to 1,000 (default 1,000).' },
    responses: {
      200: {
        description: 'The segment (with `members=1`, a page of its user ids).',
        schema: named('SegmentDetail', segment.extend({ userIds: z.array(z.string()).optional(), nextCursor: nextCursor.optional() })),
      },
    },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'deleteSegment',
    method: 'delete',
    path: '/api/segments/:name',
    tag: 'segments',
    summary: 'Delete a segment',
    description: 'Its members are removed; notifications already sent to it reach nobody from then on. Audited (`segment.delete`).',
    auth: 'apiKey',
    ...segmentPath,
    query: tenantQuery,
    paramDocs: tenantDocs,
    responses: { 204: { description: 'Deleted.' } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
];
