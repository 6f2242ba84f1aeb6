/**
 * The API reference (GET /openapi.json) against the live gateway:
 * - it is a well-formed OpenAPI 3.1 document (every $ref resolves, every path parameter
 *   declared, every schema and example usable);
 * - it lists exactly the routes Express serves, method for method (Socket.IO's
 *   /socket.io/ is engine.io's, outside Express, and described in the README);
 * - for a set of operations, the documented example request succeeds with an answer
 *   of a documented status that fits the documented schema, and requests that break the
 *   documented schema (a required field left out, an undeclared field, a number over its
 *   maximum, a path parameter off its pattern) are refused with 400 VALIDATION_FAILED.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, userToken } from '../support/harness.js';
import {
  expressPath,
  liveApp,
  operationsOf,
  refsIn,
  resolvePointer,
  servedRoutes,
  validatorOf,
  type Json,
  type OpenApiDocument,
  type OpenApiOperation,
} from './openapi-support.js';

const suite = useGateway();
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

let doc: OpenApiDocument;
let response: Response;

beforeAll(async () => {
  response = await fetch(`${suite.gw.url}/openapi.json`);
  doc = (await response.json()) as OpenApiDocument;
});

const operationById = (id: string) => {
  const found = operationsOf(doc).find(({ operation }) => operation.operationId === id);
  if (!found) throw new Error(`no operation ${id} in the document`);
  return found;
};

describe('GET /openapi.json', () => {
  it('is public JSON that caches may keep and revalidate', async () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    // fetch() adds `Cache-Control: no-cache` to a conditional request unless one is given (a forced reload is never 304).
    const again = await fetch(`${suite.gw.url}/openapi.json`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(again.status).toBe(304);
  });
});

describe('the document is well-formed OpenAPI 3.1', () => {
  it('names its version and the package version', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe('notify-gateway');
    expect(doc.info.version).toBe(packageJson.version);
  });

  it('defines the API key and the bearer user token', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(doc.components.securitySchemes.userToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('resolves every $ref inside the document', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(50);
    const dangling = refs.filter(({ ref }) => resolvePointer(doc, ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it('declares every path parameter of every template, and no other', () => {
    const problems: string[] = [];
    for (const { method, path, operation } of operationsOf(doc)) {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
      const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
      const declared = pathParams.map((p) => p.name).sort();
      if (inTemplate.join() !== declared.join()) problems.push(`${method} ${path}: template [${inTemplate}] declared [${declared}]`);
      for (const p of pathParams) if (p.required !== true) problems.push(`${method} ${path}: path parameter ${p.name} is not required`);
      const keys = (operation.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      if (new Set(keys).size !== keys.length) problems.push(`${method} ${path}: a parameter is declared twice`);
    }
    expect(problems).toEqual([]);
  });

  it('gives every operation a unique id, a declared tag, known security schemes and responses', () => {
    const ids = operationsOf(doc).map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set(doc.tags.map((t) => t.name));
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    for (const { method, path, operation } of operationsOf(doc)) {
      const where = `${method} ${path}`;
      expect(operation.tags?.every((t) => tags.has(t)), where).toBe(true);
      expect(operation.security?.flatMap(Object.keys).every((s) => schemes.has(s)), where).toBe(true);
      expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0);
      for (const status of Object.keys(operation.responses)) expect(status, where).toMatch(/^[1-5]\d\d$/);
    }
  });

  it('answers every error with the catalogue\'s error shape', () => {
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const [status, answer] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || operation.operationId === 'readiness' || operation.operationId === 'notifyBatch') continue;
        expect(answer.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    const error = validatorOf(doc, { $ref: '#/components/schemas/Error' });
    expect(error.safeParse({ error: { code: 'NOT_FOUND', message: 'no such channel' } }).success).toBe(true);
    expect(error.safeParse({ error: { code: 'NO_SUCH_CODE', message: 'x' } }).success).toBe(false);
  });

  it('has component schemas that compile, and examples that fit their schemas', () => {
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => validatorOf(doc, { $ref: `#/components/schemas/${name}` }), name).not.toThrow();
    }
    const misfits: string[] = [];
    for (const { method, path, operation } of operationsOf(doc)) {
      const body = operation.requestBody?.content['application/json'];
      if (body && !validatorOf(doc, body.schema).safeParse(body.example).success) misfits.push(`${method} ${path} body example`);
      for (const p of operation.parameters ?? []) {
        if (p.example !== undefined && !validatorOf(doc, p.schema).safeParse(p.example).success) misfits.push(`${method} ${path} ${p.name} example`);
      }
    }
    expect(misfits).toEqual([]);
  });
});

describe('the document matches the routes Express serves', () => {
  it('lists every served route, and serves every listed one', async () => {
    const served = new Set(servedRoutes(await liveApp(suite.gw)));
    const documented = new Set(operationsOf(doc).map(({ method, path }) => `${method.toUpperCase()} ${expressPath(path)}`));
    expect(served.size).toBeGreaterThan(40);
    expect([...served].filter((route) => !documented.has(route)), 'served, not documented').toEqual([]);
    expect([...documented].filter((route) => !served.has(route)), 'documented, not served').toEqual([]);
  });
});

/**
 * Operations sent as documented, in this order: the notification of the notify example
 * goes to the user whose token the notification-center calls carry, and the audited
 * changes come before the audit log is read.
 */
const EXAMPLE_USER = 'demo-user';
const EXERCISED = [
  'notify',
  'notifyBatch',
  'listNotifications',
  'countUnread',
  'markSeen',
  'putRecipient',
  'getRecipient',
  'putPreferences',
  'putTenantPreferences',
  'putKindDefaults',
  'listKindDefaults',
  'listDeliveries',
  'listAudit',
  'userPresence',
  'health',
] as const;
/** Exercised operations without a body, a bounded number or a patterned path parameter. */
const NOTHING_TO_BREAK: readonly string[] = ['countUnread', 'listKindDefaults', 'health'];

/** A request as the document describes it: path parameters from their examples, the credentials its security names. */
function documentedRequest(path: string, operation: OpenApiOperation, overrides: { path?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {}) {
  let url = path;
  for (const p of operation.parameters ?? []) {
    if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(overrides.path?.[p.name] ?? String(p.example)));
  }
  const query = new URLSearchParams(overrides.query ?? {}).toString();
  const schemes = (operation.security ?? []).flatMap(Object.keys);
  const headers: Record<string, string> = {};
  if (schemes.includes('apiKey')) headers['x-api-key'] = API_KEY;
  if (schemes.includes('userToken')) headers.authorization = `Bearer ${userToken(EXAMPLE_USER)}`;
  const example = operation.requestBody?.content['application/json']?.example;
  const body = 'body' in overrides ? overrides.body : example;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { url: `${url}${query ? `?${query}` : ''}`, init: { headers, ...(body !== undefined && { body: JSON.stringify(body) }) } };
}

async function send(method: string, path: string, operation: OpenApiOperation, overrides: Parameters<typeof documentedRequest>[2] = {}) {
  const { url, init } = documentedRequest(path, operation, overrides);
  const res = await fetch(`${suite.gw.url}${url}`, { method: method.toUpperCase(), ...init });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as unknown };
}

/** Requests that break what the document says about this operation, each with what it breaks. */
function violations(operation: OpenApiOperation): { breaks: string; overrides: Parameters<typeof documentedRequest>[2] }[] {
  const found: { breaks: string; overrides: Parameters<typeof documentedRequest>[2] }[] = [];
  const body = operation.requestBody?.content['application/json'];
  if (body) {
    const schema = (resolvePointer(doc, String(body.schema.$ref)) ?? body.schema) as { required?: string[]; additionalProperties?: unknown };
    const example = body.example as Json;
    for (const field of schema.required ?? []) {
      const { [field]: _left, ...rest } = example;
      found.push({ breaks: `required ${field} left out`, overrides: { body: rest } });
    }
    if (schema.additionalProperties === false) found.push({ breaks: 'an undeclared field', overrides: { body: { ...example, undeclaredField: 1 } } });
  }
  for (const p of operation.parameters ?? []) {
    const { maximum, pattern } = p.schema as { maximum?: number; pattern?: string };
    if (p.in === 'query' && typeof maximum === 'number') {
      found.push({ breaks: `${p.name} over its maximum`, overrides: { query: { [p.name]: String(maximum + 1) } } });
    }
    if (p.in === 'path' && typeof pattern === 'string') {
      const offPattern = 'not a valid value';
      expect(new RegExp(pattern, 'u').test(offPattern), `${p.name} pattern`).toBe(false);
      found.push({ breaks: `${p.name} off its pattern`, overrides: { path: { [p.name]: offPattern } } });
    }
  }
  return found;
}

describe('documented requests against the live gateway', () => {
  it.each(EXERCISED)('%s: the documented request succeeds with a documented answer', async (id) => {
    const { method, path, operation } = operationById(id);
    const res = await send(method, path, operation);
    const documented = operation.responses[String(res.status)];
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    expect(documented, `status ${res.status} is documented`).toBeDefined();
    const schema = documented!.content?.['application/json']?.schema;
    expect(schema, 'a JSON answer has a schema').toBeDefined();
    const fits = validatorOf(doc, schema!).safeParse(res.body);
    expect(fits.success, `${JSON.stringify(res.body)}\n${fits.error?.message}`).toBe(true);
  });

  it('the notification center lists the example notification in its documented shape', async () => {
    const { method, path, operation } = operationById('listNotifications');
    const res = await send(method, path, operation);
    const items = (res.body as { items: Json[] }).items;
    expect(items.length).toBeGreaterThanOrEqual(2); // the single and the batch example
    const inboxItem = validatorOf(doc, { $ref: '#/components/schemas/InboxNotification' });
    for (const item of items) expect(inboxItem.safeParse(item).success, JSON.stringify(item)).toBe(true);
  });

  it('the audit log lists the audited example changes in its documented shape', async () => {
    const { method, path, operation } = operationById('listAudit');
    const res = await send(method, path, operation);
    const entries = (res.body as { entries: Json[] }).entries;
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['recipient.put', 'preferences.put', 'kind.put']));
  });

  it.each(EXERCISED.filter((id) => !NOTHING_TO_BREAK.includes(id)))(
    '%s: requests breaking the documented schema get 400 VALIDATION_FAILED',
    async (id) => {
      const { method, path, operation } = operationById(id);
      const cases = violations(operation);
      expect(cases.length, 'something to break').toBeGreaterThan(0);
      const error = validatorOf(doc, { $ref: '#/components/schemas/Error' });
      for (const { breaks, overrides } of cases) {
        const res = await send(method, path, operation, overrides);
        expect(res.status, `${breaks}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(operation.responses['400'], '400 is documented').toBeDefined();
        expect(error.safeParse(res.body).success, breaks).toBe(true);
        expect((res.body as { error: { code: string } }).error.code, breaks).toBe('VALIDATION_FAILED');
      }
    },
  );
});
