/**
 * The topics a topic event names. Besides the gateway's own `{ topics: [...] }`, clients
 * written for the common `subscribe` / `subscribeCount` protocol send a bare topic name or
 * a bare array of names; all three mean the same list, so every topic event accepts them.
 * `{ topics: "name" }` stays malformed: an object always carries an array.
 */
import { z } from 'zod';

const TOPIC_NAME = z.string().max(256);

/** A schema of the three shapes, giving the topics asked for (1..max of them). */
export function topicsPayload(max: number): z.ZodType<string[], unknown> {
  const list = z.array(TOPIC_NAME).min(1).max(max);
  return z.union([
    z.object({ topics: list }).strict().transform((payload) => payload.topics),
    list,
    TOPIC_NAME.min(1).transform((topic) => [topic]),
  ]);
}
