/** Metrics of topics, transient notifications and presence, on the gateway's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CheckOutcome } from './subscribe-check.js';

/** Reasons a subscription is denied by the gateway itself; a back end's own reasons count as `back_end`. */
const OWN_REASONS = new Set(['invalid_topic', 'forbidden', 'too_many_topics', 'check_unavailable']);

export interface PresenceSources {
  watchers: () => number;
  watchedTopics: () => number;
  localTopics: () => number;
}

export type TopicMetrics = ReturnType<typeof createTopicMetrics>;

export function createTopicMetrics(registry: Registry, presence: PresenceSources) {
  const registers = [registry];
  const subscriptions = new Counter({
    name: 'notify_topic_subscriptions_total',
    help: 'Topic subscriptions (subscribe, presence:subscribe, auth.topics) by outcome; reason of a denial',
    labelNames: ['event', 'outcome', 'reason'] as const,
    registers,
  });
  const checks = new Counter({
    name: 'notify_subscribe_checks_total',
    help: 'SUBSCRIBE_CHECK_URL answers: allow, deny, unavailable (down, timeout, bad answer), cached',
    labelNames: ['outcome'] as const,
    registers,
  });
  const transient = new Counter({
    name: 'notify_transient_total',
    help: 'Transient notifications emitted (never stored), by target',
    labelNames: ['target'] as const,
    registers,
  });
  new Gauge({
    name: 'notify_presence_watchers',
    help: 'Presence watches on this instance (a socket watching 3 topics counts 3)',
    registers,
    collect() {
      this.set(presence.watchers());
    },
  });
  new Gauge({
    name: 'notify_presence_topics',
    help: 'Topics tracked by this instance: watched (counts read every interval) and subscribed (counts written)',
    labelNames: ['role'] as const,
    registers,
    collect() {
      this.set({ role: 'watched' }, presence.watchedTopics());
      this.set({ role: 'subscribed' }, presence.localTopics());
    },
  });
  return {
    subscribed(event: string, granted: number, denied: readonly { reason: string }[]): void {
      if (granted > 0) subscriptions.inc({ event, outcome: 'granted', reason: '' }, granted);
      for (const { reason } of denied) subscriptions.inc({ event, outcome: 'denied', reason: OWN_REASONS.has(reason) ? reason : 'back_end' });
    },
    checked: (outcome: CheckOutcome) => checks.inc({ outcome }),
    transient: (target: string) => transient.inc({ target }),
  };
}
