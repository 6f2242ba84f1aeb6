/**
 * The API reference: an OpenAPI 3.1 document assembled from the operations of each area,
 * whose request schemas are the zod schemas the routes validate with.
 */
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { adminOperations } from './admin-operations.js';
import { segmentOperations } from './segment-operations.js';
import type { ApiOperation, Auth, ResponseDoc, ResponseHeaderDoc } from './api-operation.js';
import { retryAfter } from './api-parameters.js';
import { inboxOperations } from './inbox-operations.js';
import { notifyOperations } from './notify-operations.js';
import { preferenceOperations } from './preference-operations.js';
import { realtimeOperations } from './realtime-operations.js';
import { componentSchemas, inlineSchema, schemaOf } from './schema-registry.js';
import { serviceOperations } from './service-operations.js';
import { errorBody } from './wire-schemas.js';

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  version: string;
  /** DEMO_PAGE: whether /demo and its script are served (and so documented). */
  demoPage: boolean;
}

const TAGS = [
  { name: 'notify', description: 'Back ends send notifications (API key).' },
  { name: 'notification center', description: 'The signed-in user\'s notifications and their states (user token).' },
  { name: 'stream', description: 'Server-Sent Events, the fallback of the Socket.IO connection (described in the README).' },
  { name: 'preferences', description: 'What reaches whom, through which channel: users, tenant defaults, kind defaults.' },
  { name: 'channels', description: 'A tenant\'s external channels: webhook, WeCom robot, email, browser push (API key).' },
  { name: 'recipients', description: 'Users\' addresses for external channels (API key).' },
  { name: 'deliveries', description: 'The external delivery queue, for operators (API key).' },
  { name: 'audit', description: 'Administrative changes and audited kinds (API key).' },
  { name: 'devices', description: 'A user\'s devices (API key).' },
  { name: 'segments', description: 'Named member lists of a tenant, a notification target expanded at delivery (API key).' },
  { name: 'presence', description: 'Who is connected, for back ends (API key).' },
  { name: 'push', description: 'Browser push subscriptions (user token).' },
  { name: 'service', description: 'Health, metrics, the browser SDK and this reference.' },
];

const SECURITY_SCHEMES = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'A back end\'s key (NOTIFY_API_KEYS). A key bound to a tenant (`key:tenant`) acts on that tenant only.',
  },
  userToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A user token: `sub` the user id, `tid` the tenant (default `default`), `exp`. HS256 with JWT_SECRET, or RS256/ES256 with JWT_PUBLIC_KEY.',
  },
  userTokenQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'The user token as `?token=`, for EventSource, which cannot set headers (the stream only).',
  },
};

const SECURITY: Record<Auth, Json[]> = {
  apiKey: [{ apiKey: [] }],
  userToken: [{ userToken: [] }],
  userTokenOrQuery: [{ userToken: [] }, { userTokenQuery: [] }],
  none: [],
};

/** Every operation the gateway serves over HTTP (Socket.IO's /socket.io/ aside). */
export function apiOperations(options: Pick<OpenApiOptions, 'demoPage'>): ApiOperation[] {
  return [
    ...notifyOperations,
    ...inboxOperations,
    ...realtimeOperations,
    ...preferenceOperations,
    ...adminOperations,
    ...segmentOperations,
    ...serviceOperations(options),
  ];
}

export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const operationIds = new Set<string>();
  for (const operation of apiOperations(options)) {
    const path = openApiPath(operation.path);
    const item = (paths[path] ??= {});
    if (item[operation.method]) throw new Error(`${operation.method.toUpperCase()} ${operation.path} is documented twice`);
    if (operationIds.has(operation.id)) throw new Error(`operationId ${operation.id} is used twice`);
    operationIds.add(operation.id);
    item[operation.method] = toOperation(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'notify-gateway',
      version: options.version,
      summary: 'Realtime notification gateway: durable notify, Socket.IO delivery, exact replay.',
      description:
        'Back ends POST notifications with an API key; they are stored, then pushed to every session of their recipients. ' +
        'The realtime protocol (Socket.IO) is in the README. Every error has the shape `{ "error": { "code", "message", "details"? } }`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: TAGS,
    paths,
    components: { schemas: componentSchemas(), securitySchemes: SECURITY_SCHEMES },
  };
}

/** `/api/notify/:kind` → `/api/notify/{kind}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

function toOperation(operation: ApiOperation): Json {
  return {
    operationId: operation.id,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description !== undefined && { description: operation.description }),
    security: SECURITY[operation.auth],
    parameters: parametersOf(operation),
    ...(operation.body && {
      requestBody: {
        required: true,
        content: { 'application/json': { schema: schemaOf(operation.body.schema), example: operation.body.example } },
      },
    }),
    responses: { ...errorResponses(operation), ...successResponses(operation) },
  };
}

function parametersOf(operation: ApiOperation): Json[] {
  const templateNames = [...operation.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  const declared = Object.keys(operation.pathParams?.shape ?? {});
  if (templateNames.join() !== declared.join()) {
    throw new Error(`${operation.path}: path parameters declared [${declared.join(', ')}], the path has [${templateNames.join(', ')}]`);
  }
  const missingExample = templateNames.find((name) => operation.paramExamples?.[name] === undefined);
  if (missingExample) throw new Error(`${operation.path}: path parameter "${missingExample}" needs an example`);
  const parameters = [
    ...parametersIn('path', operation.pathParams, operation),
    ...parametersIn('query', operation.query, operation),
    ...parametersIn('header', operation.headers, operation),
  ];
  // A description or example of a parameter the route does not take is a stale one.
  const names = new Set(parameters.map((p) => p.name));
  const stale = [...Object.keys(operation.paramDocs ?? {}), ...Object.keys(operation.paramExamples ?? {})].filter((name) => !names.has(name));
  if (stale.length > 0) throw new Error(`${operation.path}: no parameter named ${stale.join(', ')}`);
  return parameters;
}

function parametersIn(location: 'path' | 'query' | 'header', schema: ApiOperation['query'], operation: ApiOperation): Json[] {
  if (!schema) return [];
  const json = inlineSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    ...(operation.paramDocs?.[name] !== undefined && { description: operation.paramDocs[name] }),
    schema: property,
    ...(operation.paramExamples?.[name] !== undefined && { example: operation.paramExamples[name] }),
  }));
}

function successResponses(operation: ApiOperation): Record<string, Json> {
  return Object.fromEntries(Object.entries(operation.responses).map(([status, response]) => [status, toResponse(response)]));
}

function toResponse(response: ResponseDoc): Json {
  const content =
    response.schema ? { 'application/json': { schema: schemaOf(response.schema) } }
    : response.mediaType ? { [response.mediaType]: {} }
    : undefined;
  return {
    description: response.description,
    ...(response.headers && { headers: headersOf(response.headers) }),
    ...(content && { content }),
  };
}

function headersOf(headers: readonly ResponseHeaderDoc[]): Json {
  return Object.fromEntries(headers.map(({ name, description, schema }) => [name, { description, schema }]));
}

/** The catalogue's codes this operation may answer, one response per status. */
function errorResponses(operation: ApiOperation): Record<string, Json> {
  const codes = new Set<ErrorCode>(['INTERNAL', ...(operation.errors ?? [])]);
  if (operation.auth !== 'none') codes.add('UNAUTHORIZED');
  if (operation.pathParams || operation.query || operation.headers || operation.body) codes.add('VALIDATION_FAILED');
  if (operation.body) for (const code of ['INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) codes.add(code);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
    if (codes.has(code)) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [
      String(status),
      toResponse({
        description: statusCodes.map((code) => `\`${code}\``).join(', '),
        schema: errorBody,
        ...((status === 429 || status === 503) && { headers: [retryAfter] }),
      }),
    ]),
  );
}
