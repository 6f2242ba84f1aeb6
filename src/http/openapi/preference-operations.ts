/** Preferences: the user's own document, a tenant's default, and kind defaults (preference-routes.ts). */
import { z } from 'zod';
import { kindDefaultsSchema, preferenceDocumentSchema } from '../../policy/preferences.js';
import type { ApiOperation } from './api-operation.js';
import { kindParam, TENANT_QUERY_DOC, tenantIdParam, tenantQuery } from './api-parameters.js';
import { named } from './schema-registry.js';
import { timestamp } from './wire-schemas.js';

const documentInput = named(
  'PreferenceDocument',
  preferenceDocumentSchema,
  'Channel switches (`in_app`, a channel type or a channel name → on/off) and rules per kind or kind pattern ' +
    '(`*` = any run of characters): channel switches and `digestMinutes`. At most 16 KB serialised.',
);
const switches = z.record(z.string(), z.boolean());
const rules = z.record(z.string(), z.record(z.string(), z.union([z.boolean(), z.number()])));
const preferences = named('Preferences', z.object({ channels: switches, kinds: rules }), 'A stored document; empty objects when nothing is stored.');
const userPreferences = named('UserPreferences', preferences.extend({ tenantDefaults: preferences }), 'The user\'s own document, and the tenant\'s default under it.');
const tenantPreferences = named('TenantPreferences', preferences.extend({ tenantId: z.string() }));

const kindDefaultsInput = named('KindDefaultsInput', kindDefaultsSchema, 'What a kind does unless a notification or a user says otherwise.');
const kindDefaults = named(
  'KindDefaults',
  z.object({ tenantId: z.string(), kind: z.string(), defaults: kindDefaultsSchema, updatedAt: timestamp() }),
);

const documentExample = { channels: { email: false }, kinds: { 'task:*': { email: true, digestMinutes: 10 } } };
const tenantPath = { pathParams: z.object({ tenantId: tenantIdParam }), paramExamples: { tenantId: 'acme' }, paramDocs: { tenantId: 'A key bound to a tenant names its own.' } };
const kindPath = { pathParams: z.object({ kind: kindParam }), paramExamples: { kind: 'task:completed' } };
const appliesLater = 'Applies to notifications written after it, on every instance.';

export const preferenceOperations: ApiOperation[] = [
  {
    id: 'getPreferences',
    method: 'get',
    path: '/api/preferences',
    tag: 'preferences',
    summary: 'Read the user\'s preferences',
    auth: 'userToken',
    responses: { 200: { description: 'The document, and the tenant default.', schema: userPreferences } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'putPreferences',
    method: 'put',
    path: '/api/preferences',
    tag: 'preferences',
    summary: 'Replace the user\'s preferences',
    description: appliesLater,
    auth: 'userToken',
    body: { schema: documentInput, example: documentExample },
    responses: { 200: { description: 'As stored.', schema: userPreferences } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'deletePreferences',
    method: 'delete',
    path: '/api/preferences',
    tag: 'preferences',
    summary: 'Reset the user\'s preferences',
    auth: 'userToken',
    responses: { 204: { description: 'Nothing stored any more.' } },
    errors: ['STORE_UNAVAILABLE'],
  },
  {
    id: 'getTenantPreferences',
    method: 'get',
    path: '/api/tenants/:tenantId/preferences',
    tag: 'preferences',
    summary: 'Read a tenant\'s default preferences',
    auth: 'apiKey',
    ...tenantPath,
    responses: { 200: { description: 'The default document.', schema: tenantPreferences } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'putTenantPreferences',
    method: 'put',
    path: '/api/tenants/:tenantId/preferences',
    tag: 'preferences',
    summary: 'Replace a tenant\'s default preferences',
    description: `${appliesLater} Audited (\`preferences.put\`).`,
    auth: 'apiKey',
    ...tenantPath,
    body: { schema: documentInput, example: documentExample },
    responses: { 200: { description: 'As stored.', schema: tenantPreferences } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'deleteTenantPreferences',
    method: 'delete',
    path: '/api/tenants/:tenantId/preferences',
    tag: 'preferences',
    summary: 'Reset a tenant\'s default preferences',
    auth: 'apiKey',
    ...tenantPath,
    responses: { 204: { description: 'Nothing stored any more.' } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'listKindDefaults',
    method: 'get',
    path: '/api/kinds',
    tag: 'preferences',
    summary: 'List a tenant\'s kind defaults',
    auth: 'apiKey',
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    responses: {
      200: {
        description: 'Every kind with stored defaults.',
        schema: named('KindDefaultsList', z.object({ tenantId: z.string(), kinds: z.array(kindDefaults.omit({ tenantId: true })) })),
      },
    },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'getKindDefaults',
    method: 'get',
    path: '/api/kinds/:kind',
    tag: 'preferences',
    summary: 'Read a kind\'s defaults',
    auth: 'apiKey',
    ...kindPath,
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    responses: { 200: { description: 'The defaults.', schema: kindDefaults } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'putKindDefaults',
    method: 'put',
    path: '/api/kinds/:kind',
    tag: 'preferences',
    summary: 'Create or replace a kind\'s defaults',
    description: `${appliesLater} Audited (\`kind.put\`).`,
    auth: 'apiKey',
    ...kindPath,
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    body: { schema: kindDefaultsInput, example: { channels: ['ops-webhook'], digestMinutes: 5 } },
    responses: { 201: { description: 'Created.', schema: kindDefaults }, 200: { description: 'Replaced.', schema: kindDefaults } },
    errors: ['FORBIDDEN_TENANT', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'deleteKindDefaults',
    method: 'delete',
    path: '/api/kinds/:kind',
    tag: 'preferences',
    summary: 'Delete a kind\'s defaults',
    auth: 'apiKey',
    ...kindPath,
    query: tenantQuery,
    paramDocs: { tenantId: TENANT_QUERY_DOC },
    responses: { 204: { description: 'Deleted.' } },
    errors: ['FORBIDDEN_TENANT', 'NOT_FOUND', 'STORE_UNAVAILABLE'],
  },
];
