/** Request input (query, params, body) → a typed value, or 400 VALIDATION_FAILED naming each bad field. */
import type { z } from 'zod';
import { HttpError } from './errors.js';

export function parseInput<T>(schema: z.ZodType<T>, value: unknown, message = 'invalid request parameters'): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new HttpError('VALIDATION_FAILED', message, details);
  }
  return parsed.data;
}
