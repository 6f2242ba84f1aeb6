/**
 * Preference documents and kind defaults: their shape, validation and matching.
 *
 * A preference document (a user's, or a tenant's default for its users):
 *   { "channels": { "email": false, "in_app": true },
 *     "kinds": { "task:*": { "email": true, "digestMinutes": 10 }, "marketing:*": { "in_app": false } } }
 * - Channel keys are `in_app`, a channel type (`email`, `webpush`, `wecom`, `webhook`) or
 *   one of the tenant's channel names; a name is more specific than its type.
 * - Kind patterns are kinds with `*` standing for any run of characters. The most
 *   specific pattern that says something about a channel decides it: an exact kind first,
 *   then the pattern with the most literal characters.
 */
import { z } from 'zod';

export const IN_APP = 'in_app';
const CHANNEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const KIND_PATTERN = /^[a-z*][a-z0-9_.:*-]{0,63}$/;
/** A digest window of more than a day is a newsletter, not a digest. */
export const MAX_DIGEST_MINUTES = 24 * 60;
const MAX_PATTERNS = 100;
const MAX_CHANNEL_KEYS = 50;

// Fractions of a minute are allowed (down to a second): short windows are useful in tests
// and for chatty kinds.
const digestMinutes = z.number().min(0).max(MAX_DIGEST_MINUTES).refine((m) => m === 0 || m >= 1 / 60, 'at least 1/60 (one second), or 0 for none');

const channelSwitches = z
  .record(z.string().regex(CHANNEL_KEY, 'a channel key: "in_app", a channel type or a channel name'), z.boolean())
  .refine((r) => Object.keys(r).length <= MAX_CHANNEL_KEYS, `at most ${MAX_CHANNEL_KEYS} channels`);

// Values are checked key by key (not by a union), so an error names what the key expects.
const kindRule = z
  .record(z.string(), z.unknown())
  .superRefine((rule, ctx) => {
    if (Object.keys(rule).length > MAX_CHANNEL_KEYS + 1) ctx.addIssue({ code: 'custom', path: [], message: `at most ${MAX_CHANNEL_KEYS} channels and digestMinutes` });
    for (const [key, value] of Object.entries(rule)) {
      if (key === 'digestMinutes') {
        const parsed = digestMinutes.safeParse(value);
        if (!parsed.success) ctx.addIssue({ code: 'custom', path: [key], message: parsed.error.issues[0]!.message });
      } else if (!CHANNEL_KEY.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'a channel key ("in_app", a channel type or name) or "digestMinutes"' });
      } else if (typeof value !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: [key], message: 'true or false' });
      }
    }
  })
  .transform((rule) => rule as KindRule);

export const preferenceDocumentSchema = z
  .object({
    channels: channelSwitches.optional(),
    kinds: z
      .record(z.string().regex(KIND_PATTERN, 'a kind, or a kind pattern with "*"'), kindRule)
      .refine((r) => Object.keys(r).length <= MAX_PATTERNS, `at most ${MAX_PATTERNS} kind patterns`)
      .optional(),
  })
  .strict();

export type PreferenceDocument = z.infer<typeof preferenceDocumentSchema>;
export type KindRule = Record<string, boolean | number>;

export const kindDefaultsSchema = z
  .object({
    /** Bypasses user opt-outs and digests, like `priority: "urgent"`. */
    critical: z.boolean().optional(),
    /** Channel names a notification of this kind goes through when its POST names none. */
    channels: z.array(z.string().regex(CHANNEL_KEY, 'a channel name')).max(10).optional(),
    digestMinutes: digestMinutes.optional(),
    external: z.enum(['summary', 'full']).optional(),
  })
  .strict();

export type KindDefaults = z.infer<typeof kindDefaultsSchema>;

/** Does `kind` match `pattern` (`*` = any run of characters)? */
export function kindMatches(pattern: string, kind: string): boolean {
  if (!pattern.includes('*')) return pattern === kind;
  const parts = pattern.split('*');
  if (!kind.startsWith(parts[0]!)) return false;
  let at = parts[0]!.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = kind.indexOf(parts[i]!, at);
    if (found < 0) return false;
    at = found + parts[i]!.length;
  }
  const last = parts[parts.length - 1]!;
  return kind.length - last.length >= at && kind.endsWith(last);
}

/** The rules of `document` whose pattern matches `kind`, most specific first. */
export function matchingRules(document: PreferenceDocument | null, kind: string): KindRule[] {
  const kinds = document?.kinds;
  if (!kinds) return [];
  return Object.keys(kinds)
    .filter((pattern) => kindMatches(pattern, kind))
    .sort((a, b) => specificity(b) - specificity(a) || (a < b ? -1 : a > b ? 1 : 0))
    .map((pattern) => kinds[pattern] as KindRule);
}

/** An exact kind beats every pattern; among patterns, more literal characters win. */
function specificity(pattern: string): number {
  return pattern.includes('*') ? pattern.replaceAll('*', '').length : 1_000;
}
