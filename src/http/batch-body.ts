/**
 * The body of POST /api/notify (up to 4 MB: 500 items of 1,000 recipients), parsed
 * without holding the event loop. Decoding, JSON.parse and the input rules' walk
 * (json-guard.ts) of such a body ran as one synchronous stretch of 20 ms on an idle box
 * and 60-100 ms on two busy cores.
 *
 * The raw bytes of `{"notifications": [item, …]}` are split into their items by a scan
 * that only follows strings and brackets (UTF-8 never puts an ASCII byte inside a
 * multi-byte character, so bytes are scanned as they are); each item is then decoded,
 * parsed and checked against the input rules on its own, in slices of the event loop.
 * The result is what express.json plus the input rules give (jsonBody): the same value
 * and the same refusals. A body of any other shape (another key, escapes in the key, a
 * syntax error the scan cannot place), or another charset, takes jsonBody's path: parsed
 * whole.
 */
import express, { type Request, type RequestHandler } from 'express';
import { TimeSlice, yieldToEventLoop } from '../event-loop.js';
import { HttpError } from './errors.js';
import { findJsonProblem, jsonBody } from './json-guard.js';

const KEY = Buffer.from('"notifications"');

/** Parses and checks a batch body of at most `limit` bytes into `req.body`. */
export function batchJsonBody(limit: number): RequestHandler {
  const whole = jsonBody(limit);
  const raw = express.raw({ type: () => true, limit });
  return (req, res, next) => {
    if (!isUtf8Json(req)) return whole(req, res, next);
    raw(req, res, (error?: unknown) => {
      if (error) return next(error);
      if (!Buffer.isBuffer(req.body)) return next(); // no body at all: as express.json leaves it
      parseBatch(req.body).then(
        (body) => {
          req.body = body;
          next();
        },
        next,
      );
    });
  };
}

/** application/json in UTF-8 (or without a charset): what the scan reads. */
function isUtf8Json(req: Request): boolean {
  if (!req.is('application/json')) return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** `{"notifications": […]}` item by item, or the whole body at once when it has another shape. */
export async function parseBatch(bytes: Buffer): Promise<unknown> {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // a BOM, as the decoder drops it
  const spans = splitItems(bytes, start);
  if (spans) {
    const items: unknown[] = [];
    const slice = new TimeSlice();
    for (const [from, to] of spans) {
      await slice.pause();
      try {
        items.push(JSON.parse(bytes.toString('utf8', from, to)));
      } catch {
        return parseWhole(bytes, start); // the whole body's own error
      }
    }
    // Then the rules, in document order: a syntax error anywhere is reported before them.
    for (let index = 0; index < items.length; index++) {
      await slice.pause();
      refuseBreaches(items[index], index);
    }
    return { notifications: items };
  }
  await yieldToEventLoop();
  return parseWhole(bytes, start);
}

/** As express.json (strict) and the input rules would. */
function parseWhole(bytes: Buffer, start: number): unknown {
  const text = bytes.toString('utf8', start);
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.?)/.exec(text)![1];
  let body: unknown;
  try {
    if (first !== '{' && first !== '[') throw new SyntaxError(`Unexpected token '${first}', expected an object or array`);
    body = JSON.parse(text);
  } catch (error) {
    // The parser's error, marked as body-parser marks it (errors.ts maps it to INVALID_JSON).
    throw Object.assign(error instanceof Error ? error : new SyntaxError(String(error)), { type: 'entity.parse.failed', status: 400 });
  }
  const problem = findJsonProblem(body);
  if (problem) throw refusal(problem.path, problem.message, problem);
  return body;
}

/** The input rules on item `index`, judged where it sits in the body (depth and path). */
function refuseBreaches(item: unknown, index: number): void {
  const problem = findJsonProblem({ notifications: [item] });
  if (!problem) return;
  const path = problem.path.replace(/^notifications\.0(?=\.|$)/, `notifications.${index}`);
  throw refusal(path, problem.message, { ...problem, path });
}

/** jsonBody's refusal (json-guard.ts, assertJsonInputRules). */
function refusal(path: string, message: string, detail: unknown): HttpError {
  return new HttpError('VALIDATION_FAILED', `JSON body refused at ${path === '' ? 'the body' : path}: ${message}`, [detail]);
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Byte ranges of the items of `{"notifications": [ … ]}` (whitespace allowed between
 * tokens, nothing else), or null for any other shape. Ranges only: each item is proven
 * valid JSON by parsing it, and an envelope made of exactly these tokens around valid
 * values is valid JSON.
 */
export function splitItems(bytes: Buffer, from = 0): [number, number][] | null {
  let i = from;
  const skip = () => {
    while (isSpace(bytes[i])) i++;
  };
  const expect = (byte: number) => {
    skip();
    if (bytes[i] !== byte) return false;
    i++;
    return true;
  };
  if (!expect(0x7b /* { */)) return null;
  skip();
  // A body shorter than the key (`{}`) is another shape; compare() would throw on it.
  if (i + KEY.length > bytes.length || bytes.compare(KEY, 0, KEY.length, i, i + KEY.length) !== 0) return null;
  i += KEY.length;
  if (!expect(0x3a /* : */) || !expect(0x5b /* [ */)) return null;
  const spans: [number, number][] = [];
  skip();
  if (bytes[i] === 0x5d /* ] */) {
    i++;
  } else {
    for (;;) {
      skip();
      const start = i;
      const end = valueEnd(bytes, i);
      if (end === null || end === start) return null;
      spans.push([start, end]);
      i = end;
      skip();
      if (bytes[i] === 0x2c /* , */) {
        i++;
        continue;
      }
      if (bytes[i] === 0x5d /* ] */) {
        i++;
        break;
      }
      return null;
    }
  }
  if (!expect(0x7d /* } */)) return null;
  skip();
  return i === bytes.length ? spans : null;
}

/** Where the value starting at `i` ends: after its closing bracket, or before `,` `]` or whitespace at depth 0. */
function valueEnd(bytes: Buffer, i: number): number | null {
  let depth = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x22 /* " */) {
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c /* \ */) i++;
      if (i >= bytes.length) return null;
      if (depth === 0) return i + 1;
    } else if (b === 0x7b || b === 0x5b) {
      depth++;
    } else if (b === 0x7d || b === 0x5d) {
      if (depth === 0) return i; // a scalar item ends at the array's `]`
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (b === 0x2c || isSpace(b))) {
      return i;
    }
  }
  return depth === 0 ? i : null;
}
