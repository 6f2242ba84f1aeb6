/**
 * Who may hold a topic: `subscribe`, `presence:subscribe` and a handshake's `auth.topics`
 * all ask here, one topic at a time, in the order given.
 *
 * - A malformed topic name: denied `invalid_topic`.
 * - A pattern of the token's `topics` claim matches: granted, nothing else is asked.
 * - Otherwise, with SUBSCRIBE_CHECK_URL: the back end decides (subscribe-check.ts;
 *   `check_unavailable` when it cannot). Without it: denied `forbidden`.
 * - Topics are the tenant's: the tenant comes from the token, never from the client.
 */
import type { Principal } from '../auth/user-token.js';
import type { SubscribeCheck } from './subscribe-check.js';
import { claimGrants, TOPIC } from './topic-names.js';

export interface Denial {
  topic: string;
  reason: string;
}

export interface TopicAccess {
  granted: string[];
  denied: Denial[];
}

export class TopicAuthorizer {
  constructor(private readonly check: SubscribeCheck | null) {}

  /** Distinct topics of `topics`, each granted or denied (with a reason). */
  async authorize(who: Principal, patterns: readonly string[], topics: readonly string[]): Promise<TopicAccess> {
    const access: TopicAccess = { granted: [], denied: [] };
    const distinct = [...new Set(topics)];
    const verdicts = await Promise.all(distinct.map((topic) => this.verdict(who, patterns, topic)));
    distinct.forEach((topic, i) => {
      const reason = verdicts[i];
      if (reason === null) access.granted.push(topic);
      else access.denied.push({ topic, reason: reason! });
    });
    return access;
  }

  /** null: granted; else the reason. */
  private async verdict(who: Principal, patterns: readonly string[], topic: string): Promise<string | null> {
    if (!TOPIC.test(topic)) return 'invalid_topic';
    if (claimGrants(patterns, topic)) return null;
    if (!this.check) return 'forbidden';
    const verdict = await this.check.check(who, topic);
    return verdict.allow ? null : verdict.reason;
  }
}
