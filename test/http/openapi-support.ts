/**
 * Reading the API reference in tests: JSON pointers and `$ref`s, documented schemas as
 * validators, and the routes the live Express app serves.
 */
import type { IncomingMessage } from 'node:http';
import type { Application, Request } from 'express';
import { z } from 'zod';
import type { RunningGateway } from '../support/harness.js';

export type Json = Record<string, unknown>;

export interface OpenApiOperation extends Json {
  operationId: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema: Json; example?: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Json; example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Json }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Every operation of the document, with its method and path. */
export function operationsOf(doc: OpenApiDocument): { method: string; path: string; operation: OpenApiOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

/** The value a local reference (`#/a/b`) points at, or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const segments = ref.slice(1).split('/').filter(Boolean).map((s) => decodeURIComponent(s).replaceAll('~1', '/').replaceAll('~0', '~'));
  let at: unknown = doc;
  for (const segment of segments) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, segment)) return undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at;
}

/** Every `$ref` value anywhere in `value`, with where it was found. */
export function refsIn(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => refsIn(item, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [{ ref: child, at }] : refsIn(child, `${at}/${key}`),
  );
}

const COMPONENT_PREFIX = '#/components/schemas/';

/** A documented JSON Schema (which may refer to the document's components) as a validator. */
export function validatorOf(doc: OpenApiDocument, schema: Json): z.ZodType {
  const local = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value), (key, v: unknown) =>
      key === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT_PREFIX) ? `#/$defs/${v.slice(COMPONENT_PREFIX.length)}` : v,
    );
  return z.fromJSONSchema({ ...(local(schema) as Json), $defs: local(doc.components.schemas) as Record<string, Json> });
}

/** The Express app behind a running gateway: Express sets `req.app` on every request it handles. */
export async function liveApp(gw: RunningGateway): Promise<Application> {
  const handled = new Promise<IncomingMessage>((resolve) => gw.gateway.httpServer.once('request', resolve));
  await (await fetch(`${gw.url}/healthz`)).arrayBuffer();
  const app = ((await handled) as Request).app;
  if (typeof app?.use !== 'function') throw new Error('the request was not handled by Express');
  return app;
}

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  slash?: boolean;
  rawPath?: unknown;
}

/** `METHOD /path` of every route of the app, in Express's path syntax (`/api/notify/:kind`). */
export function servedRoutes(app: Application): string[] {
  const routes: string[] = [];
  const walk = (stack: RouterLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const { path, methods } = layer.route;
        if (typeof path !== 'string') throw new Error(`a route with a non-string path (${String(path)}): compare it by hand`);
        for (const method of Object.keys(methods)) {
          if (method === '_all') throw new Error(`${path} answers every method: document each`);
          routes.push(`${method.toUpperCase()} ${path}`);
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        // Every router of the gateway is mounted at the root; a prefix would have to be added here.
        if (!layer.slash) throw new Error(`a router mounted under ${String(layer.rawPath)}: add its prefix to the walk`);
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
  return routes;
}

/** `/api/notify/{kind}` → `/api/notify/:kind`. */
export const expressPath = (openApiPath: string) => openApiPath.replace(/\{(\w+)\}/g, ':$1');
