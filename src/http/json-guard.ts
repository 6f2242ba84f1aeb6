/**
 * JSON request bodies: parsed by express.json, then checked against the input rules
 * before any route or schema sees them (README "Input rules"). A body that breaks one is
 * refused whole with 400 VALIDATION_FAILED naming the path:
 *
 * - objects and arrays nest at most MAX_JSON_DEPTH levels (the body itself is level 1),
 *   so schemas, JSON.stringify and the store never recurse over attacker-sized depth;
 * - no key is `__proto__`, `constructor` or `prototype` (they were silently dropped or
 *   kept depending on the layer; refusing is the one behaviour that cannot surprise);
 * - every string, keys included, is well-formed UTF-16: a lone surrogate cannot be
 *   stored or sent on as it was given.
 *
 * The walk is iterative (an explicit stack), so a deep body cannot overflow the call
 * stack here; it stops at the first problem.
 */
import express, { type RequestHandler } from 'express';
import { HttpError } from './errors.js';

export const MAX_JSON_DEPTH = 32;
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonProblem {
  /** Dotted path of the offending value or key, e.g. `data.items.3.__proto__`. */
  path: string;
  message: string;
}

const LONE_SURROGATE = 'contains a lone UTF-16 surrogate (not well-formed Unicode)';

/** ES2024 string methods (Node 20 has them; the compile target's lib does not declare them). */
type Es2024String = string & { isWellFormed(): boolean; toWellFormed(): string };
const isWellFormed = (s: string): boolean => (s as Es2024String).isWellFormed();
const toWellFormed = (s: string): string => (s as Es2024String).toWellFormed();

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | null;
  key: string | null;
}

/** The first input-rule problem in a parsed JSON value, or null. */
export function findJsonProblem(root: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  const rootFrame: Frame = { value: root, depth: 1, parent: null, key: null };
  if (typeof root === 'string' && !isWellFormed(root)) return { path: '', message: `the string ${LONE_SURROGATE}` };
  // Only containers get a frame and go on the stack: a body is mostly strings and numbers.
  const stack: Frame[] = isContainer(root) ? [rootFrame] : [];
  const children: Frame[] = [];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) return { path: pathOf(frame), message: `is nested deeper than ${maxDepth} levels` };
    const at = (key: string, message: string): JsonProblem => ({ path: pathOf({ value: null, depth: 0, parent: frame, key }), message });
    if (Array.isArray(frame.value)) {
      const list = frame.value as unknown[];
      for (let i = 0; i < list.length; i++) {
        const value = list[i];
        if (typeof value === 'string') {
          if (!isWellFormed(value)) return at(String(i), `the string ${LONE_SURROGATE}`);
        } else if (isContainer(value)) {
          children.push({ value, depth: frame.depth + 1, parent: frame, key: String(i) });
        }
      }
    } else {
      const record = frame.value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!isWellFormed(key)) return at(key, `the key ${LONE_SURROGATE}`);
        if (FORBIDDEN_KEYS.has(key)) return at(key, `the key "${key}" is not allowed`);
        const value = record[key];
        if (typeof value === 'string') {
          if (!isWellFormed(value)) return at(key, `the string ${LONE_SURROGATE}`);
        } else if (isContainer(value)) {
          children.push({ value, depth: frame.depth + 1, parent: frame, key });
        }
      }
    }
    // Reversed, so the walk visits children in document order.
    while (children.length > 0) stack.push(children.pop()!);
  }
  return null;
}

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object';

function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f?.key != null; f = f.parent) keys.push(toWellFormed(f.key));
  return keys.reverse().join('.');
}

/** Throws 400 VALIDATION_FAILED when `body` breaks an input rule. */
export function assertJsonInputRules(body: unknown): void {
  const problem = findJsonProblem(body);
  if (problem) {
    const where = problem.path === '' ? 'the body' : problem.path;
    throw new HttpError('VALIDATION_FAILED', `JSON body refused at ${where}: ${problem.message}`, [problem]);
  }
}

/** express.json (strict, `limit` bytes) followed by the input rules. */
export function jsonBody(limit: number): RequestHandler {
  const parse = express.json({ limit, strict: true });
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => {
      if (error) return next(error);
      try {
        assertJsonInputRules(req.body);
      } catch (refused) {
        return next(refused);
      }
      next();
    });
  };
}
