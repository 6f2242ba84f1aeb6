/**
 * The client's topics: what it wants to hold, who listens to which topic, and the
 * gateway's verdicts.
 *
 * - `subscribe` on an open socket asks at once (`subscribe` event, ack `{ granted, denied }`).
 *   Without one (connecting, or on SSE / REST polling, which carry no topics) the topics
 *   are remembered and the promise is answered by the next socket connection's
 *   `notify:synced`, which carries the verdict on `auth.topics`.
 * - Every socket (re)connection sends the wanted topics in `auth.topics`, so the replay
 *   after `lastAckId` includes their missed messages.
 * - A denied topic is forgotten (not asked for again on the next reconnect).
 */
import type { Notification, TopicAck, TopicDeliveryMeta } from './types.js';

export type TopicHandler = (notification: Notification, meta: TopicDeliveryMeta) => void;

/** Sends an event with an ack over the open socket; null when there is none. */
export type TopicRequest = (event: 'subscribe' | 'unsubscribe', payload: { topics: string[] }) => Promise<unknown> | null;

export class TopicSubscriptions {
  private readonly wanted = new Set<string>();
  private readonly handlers = new Map<string, Set<TopicHandler>>();
  private pending: { topics: string[]; resolve: (ack: TopicAck) => void }[] = [];

  constructor(private readonly request: TopicRequest) {}

  /** What `auth.topics` carries on the next connection. */
  list(): string[] {
    return [...this.wanted];
  }

  async subscribe(topics: string[]): Promise<TopicAck> {
    for (const topic of topics) this.wanted.add(topic);
    const asked = this.request('subscribe', { topics });
    if (asked) {
      try {
        const ack = (await asked) as TopicAck;
        if (Array.isArray(ack?.granted)) {
          this.forgetDenied(ack);
          return ack;
        }
      } catch {
        // No answer (the connection dropped): the next connection's verdict answers.
      }
    }
    return new Promise((resolve) => this.pending.push({ topics, resolve }));
  }

  async unsubscribe(topics: string[]): Promise<void> {
    for (const topic of topics) this.wanted.delete(topic);
    await this.request('unsubscribe', { topics })?.catch(() => undefined);
  }

  on(topic: string, handler: TopicHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(topic);
    };
  }

  /** Hands a topic notification to the listeners of each of its topics. */
  dispatch(notification: Notification, meta: TopicDeliveryMeta): void {
    for (const topic of notification.topics ?? []) {
      for (const handler of [...(this.handlers.get(topic) ?? [])]) handler(notification, meta);
    }
  }

  /** The verdict on `auth.topics` of a new connection. */
  synced(access: TopicAck): void {
    this.forgetDenied(access);
    const pending = this.pending;
    this.pending = [];
    for (const { topics, resolve } of pending) {
      resolve({
        granted: access.granted.filter((t) => topics.includes(t)),
        denied: access.denied.filter((d) => topics.includes(d.topic)),
      });
    }
  }

  private forgetDenied(ack: TopicAck): void {
    for (const { topic } of ack.denied) this.wanted.delete(topic);
  }
}
