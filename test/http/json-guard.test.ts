/**
 * The JSON input rules on parsed values: depth (iteratively, so a million levels do not
 * overflow the stack), forbidden keys and lone surrogates, each reported with its path.
 * And the error catalogue's mapping of a parser RangeError, a URIError and an aborted body.
 */
import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/http/errors.js';
import { MAX_JSON_DEPTH, assertJsonInputRules, findJsonProblem } from '../../src/http/json-guard.js';
import { createLogger } from '../../src/logger.js';

/** `levels` objects nested as `{ a: { a: … 1 } }`, parsed from text so no recursion builds it. */
function nested(levels: number, open = '{"a":', close = '}'): unknown {
  return JSON.parse(`${open.repeat(levels)}1${close.repeat(levels)}`);
}

describe('findJsonProblem', () => {
  it('accepts ordinary bodies, and exactly MAX_JSON_DEPTH levels', () => {
    expect(findJsonProblem({ userId: 'a', title: 'Build ✓ 😀', data: { list: [1, 'x', null, { ok: true }] } })).toBeNull();
    expect(MAX_JSON_DEPTH).toBe(32);
    expect(findJsonProblem(nested(32))).toBeNull();
    expect(findJsonProblem(nested(32, '[', ']'))).toBeNull();
    expect(findJsonProblem('plain')).toBeNull();
    expect(findJsonProblem(null)).toBeNull();
  });

  it('refuses one level more, naming the path of the first too-deep container', () => {
    expect(findJsonProblem(nested(33))).toEqual({ path: Array(32).fill('a').join('.'), message: 'is nested deeper than 32 levels' });
    expect(findJsonProblem({ data: nested(40, '[', ']') })?.path).toBe(['data', ...Array(31).fill('0')].join('.'));
  });

  it('walks a million levels without overflowing the stack', () => {
    const deep = nested(1_000_000, '[', ']');
    expect(findJsonProblem(deep)?.message).toBe('is nested deeper than 32 levels');
    expect(findJsonProblem(deep, 2_000_000)).toBeNull();
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s anywhere, naming it', (key) => {
    const top = JSON.parse(`{"data":{"${key}":{"x":1}}}`);
    expect(findJsonProblem(top)).toEqual({ path: `data.${key}`, message: `the key "${key}" is not allowed` });
    const inList = JSON.parse(`{"data":{"list":[{"ok":1},{"${key}":1}]}}`);
    expect(findJsonProblem(inList)?.path).toBe(`data.list.1.${key}`);
    // As a value, or as part of a longer key, it is ordinary text.
    expect(findJsonProblem({ data: { kind: key, [`${key}Name`]: 1 } })).toBeNull();
  });

  it('refuses lone surrogates in values and keys, but not surrogate pairs', () => {
    expect(findJsonProblem(JSON.parse('{"title":"a\\ud800b"}'))).toEqual({
      path: 'title',
      message: 'the string contains a lone UTF-16 surrogate (not well-formed Unicode)',
    });
    expect(findJsonProblem(JSON.parse('{"data":{"list":["ok","\\udc00"]}}'))?.path).toBe('data.list.1');
    // The key is shown with the surrogate replaced, so the message itself is well-formed.
    expect(findJsonProblem(JSON.parse('{"data":{"k\\udfff":1}}'))).toEqual({
      path: 'data.k\ufffd',
      message: 'the key contains a lone UTF-16 surrogate (not well-formed Unicode)',
    });
    expect(findJsonProblem(JSON.parse('{"title":"\\ud83d\\ude00"}'))).toBeNull();
  });

  it('reports the first problem in document order', () => {
    const body = JSON.parse('{"a":{"b":"\\ud800"},"c":{"__proto__":1}}');
    expect(findJsonProblem(body)?.path).toBe('a.b');
  });

  it('assertJsonInputRules throws 400 VALIDATION_FAILED with the problem as details', () => {
    expect(() => assertJsonInputRules({ data: { ok: 1 } })).not.toThrow();
    expect(() => assertJsonInputRules(JSON.parse('{"data":{"__proto__":1}}'))).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'VALIDATION_FAILED',
        details: [{ path: 'data.__proto__', message: 'the key "__proto__" is not allowed' }],
      }),
    );
  });
});

describe('errorHandler', () => {
  function handle(error: unknown) {
    let status = 0;
    let body: unknown;
    const res = {
      set: () => res,
      status: (s: number) => ((status = s), res),
      json: (b: unknown) => ((body = b), res),
    } as unknown as Response;
    errorHandler(createLogger('silent'), () => false)(error, {} as never, res, () => undefined);
    return { status, body: body as { error: { code: string; message: string } } };
  }

  it('maps a parser RangeError (too deep) to 400 VALIDATION_FAILED, other parse errors to INVALID_JSON', () => {
    const tooDeep = Object.assign(new RangeError('Maximum call stack size exceeded'), { type: 'entity.parse.failed', status: 400 });
    expect(handle(tooDeep)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const syntax = Object.assign(new SyntaxError('Unexpected end'), { type: 'entity.parse.failed', status: 400 });
    expect(handle(syntax)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
  });

  it('maps a URIError (undecodable path parameter) to 400 VALIDATION_FAILED', () => {
    const error = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400 });
    expect(handle(error)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });

  it('maps a body the client stopped sending to 400, not 500', () => {
    const error = Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 });
    expect(handle(error)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });
});
