/**
 * The one error catalogue. Every error a client sees is built here and has the shape
 * `{ "error": { "code", "message", "details"? } }` with a stable code.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../logger.js';

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_TENANT: 403,
  /** The request names another app than the API key's. */
  FORBIDDEN_APP: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Over a rate limit; `Retry-After` and the RateLimit-* headers say when to retry. */
  RATE_LIMITED: 429,
  /** Too many open SSE streams for this user (MAX_STREAMS_PER_USER); retry when one closes. */
  TOO_MANY_CONNECTIONS: 429,
  INTERNAL: 500,
  STORE_UNAVAILABLE: 503,
  /** Starting: waiting for DATABASE_URL or REDIS_URL to answer (src/startup/); retry after `Retry-After`. */
  NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Maps body-parser errors, store outages and everything else onto the catalogue. */
export function errorHandler(logger: Logger, isStoreUnavailable: (error: unknown) => boolean): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const known = toHttpError(error, isStoreUnavailable);
    if (known.status >= 500) {
      logger[known.code === 'STORE_UNAVAILABLE' ? 'warn' : 'error']({ err: error }, known.message);
    }
    if (known.code === 'STORE_UNAVAILABLE') res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(known.status).json(errorBody(known.code, known.message, known.details));
  };
}

function toHttpError(error: unknown, isStoreUnavailable: (error: unknown) => boolean): HttpError {
  if (error instanceof HttpError) return error;
  const type = (error as { type?: unknown } | null)?.type;
  // A parser giving up on nesting (RangeError) is the depth rule (json-guard.ts), not bad JSON.
  if (type === 'entity.parse.failed' && error instanceof RangeError) {
    return new HttpError('VALIDATION_FAILED', 'JSON body refused: nested too deeply');
  }
  if (type === 'entity.parse.failed') return new HttpError('INVALID_JSON', 'request body is not valid JSON');
  // The router could not percent-decode a path parameter (it marks the URIError 400).
  if (error instanceof URIError) return new HttpError('VALIDATION_FAILED', 'the path is not valid percent-encoded UTF-8');
  if (type === 'entity.too.large') return new HttpError('PAYLOAD_TOO_LARGE', 'request body is too large');
  // The client went away (or was cut by HTTP_REQUEST_TIMEOUT_MS) mid-body: not a server error.
  if (type === 'request.aborted') return new HttpError('VALIDATION_FAILED', 'the request body was not received completely');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
  }
  if (isStoreUnavailable(error)) return new HttpError('STORE_UNAVAILABLE', 'storage is unavailable, retry later');
  return new HttpError('INTERNAL', 'internal error');
}
