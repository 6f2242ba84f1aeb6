/**
 * Checks a member list of up to 100,000 user ids without holding the event loop: one
 * zod parse of such a list is 40-50 ms of synchronous work, so the ids are checked here
 * in slices, the loop turning between them, by the rule of the documented schema
 * (http/segment-routes.ts `memberId`).
 */
import { TimeSlice } from '../event-loop.js';

const MEMBER_ID = /^[^\s\u0000-\u001f]+$/u;
export const MEMBER_ID_MAX = 128;
export const MEMBER_ID_MESSAGE = 'a user id: 1 to 128 characters, no whitespace or control characters';

export const isMemberId = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= MEMBER_ID_MAX && MEMBER_ID.test(value);

/** The first id of `ids` that is not a user id, as a validation issue at `path`.index, or null. */
export async function firstBadMemberId(ids: readonly unknown[], path: string): Promise<{ path: string[]; message: string } | null> {
  const slice = new TimeSlice();
  for (let i = 0; i < ids.length; i++) {
    if (!isMemberId(ids[i])) return { path: [path, String(i)], message: MEMBER_ID_MESSAGE };
    if (i % 1000 === 999) await slice.pause();
  }
  return null;
}
