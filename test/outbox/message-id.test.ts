import { validate, version } from 'uuid';
import { expect, it } from 'vitest';
import { newMessageId } from '../../src/outbox/message-id.js';

it('gives distinct UUIDv7s across several refills of its random pool', () => {
  const ids = Array.from({ length: 2000 }, newMessageId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
  // The leading 48 bits are the millisecond clock: never decreasing.
  const clock = ids.map((id) => parseInt(id.replaceAll('-', '').slice(0, 12), 16));
  expect(clock.every((ms, i) => i === 0 || ms >= clock[i - 1]!)).toBe(true);
});
