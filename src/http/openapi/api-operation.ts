/**
 * One documented HTTP operation, written in the terms the routes use: the Express path,
 * the zod schemas the route validates with, the error codes of the catalogue it answers.
 * openapi-document.ts turns these into OpenAPI.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';

export type Method = 'get' | 'put' | 'post' | 'delete';

/**
 * Who may call: a back end with an API key, a signed-in user with a token
 * (`Authorization: Bearer`), a user token as header or `?token=` (SSE: EventSource
 * cannot set headers), or anyone.
 */
export type Auth = 'apiKey' | 'userToken' | 'userTokenOrQuery' | 'none';

export interface ResponseHeaderDoc {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export interface ResponseDoc {
  description: string;
  /** A JSON body. */
  schema?: z.ZodType;
  /** A body that is not JSON (event stream, script, Prometheus text): its media type. */
  mediaType?: string;
  headers?: readonly ResponseHeaderDoc[];
}

export interface RequestBodyDoc {
  schema: z.ZodType;
  /** A body that passes the schema: shown by API browsers, and sent by the reference's test. */
  example: unknown;
}

export interface ApiOperation {
  /** `operationId`: the method name client generators give it. */
  id: string;
  method: Method;
  /** As the route is registered: `/api/notify/:kind`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  /** Every `:name` of the path; an `example` in `paramExamples`. */
  pathParams?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  /** Descriptions of path, query and header parameters, by name. */
  paramDocs?: Readonly<Record<string, string>>;
  /** Example values of parameters, by name: every path parameter has one. */
  paramExamples?: Readonly<Record<string, string>>;
  body?: RequestBodyDoc;
  /** Success answers by status. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /**
   * Catalogue codes this operation answers besides the ones every operation of its kind
   * does (INTERNAL; UNAUTHORIZED with auth; VALIDATION_FAILED with parameters or a body;
   * INVALID_JSON, PAYLOAD_TOO_LARGE and UNSUPPORTED_MEDIA_TYPE with a body).
   */
  errors?: readonly ErrorCode[];
}
