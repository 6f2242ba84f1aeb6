/**
 * The client's topics: what it wants to hold and whose presence it watches, who listens
 * to which topic, and the gateway's verdicts.
 *
 * - `subscribe` on an open socket asks at once (`subscribe` event, ack `{ granted, denied }`).
 *   Without one (connecting, or on SSE / REST polling, which carry no topics) the topics
 *   are remembered and the promise is answered when the next socket connection syncs:
 *   by `notify:synced`, which carries the verdict on `auth.topics`, or, for topics wanted
 *   after that handshake was sent, by a `subscribe` asked right then.
 * - Every socket (re)connection sends the wanted topics in `auth.topics`, so the replay
 *   after `lastAckId` includes their missed messages.
 * - Presence watches live as long as their socket at the gateway: every socket sync asks
 *   for the watched topics again (`presence:subscribe`), and a watch asked for without a
 *   socket is answered then. A topic is let go (`presence:unsubscribe`) when its last
 *   handler stops; a handler that joins a watched topic gets its last counts at once.
 * - A denied topic is forgotten (not asked for again on the next reconnect).
 */
import type { Notification, PresenceUpdate, PresenceWatch, TopicAck, TopicDeliveryMeta } from './types.js';

export type TopicHandler = (notification: Notification, meta: TopicDeliveryMeta) => void;
export type PresenceHandler = (update: PresenceUpdate) => void;

type TopicEvent = 'subscribe' | 'unsubscribe' | 'presence:subscribe' | 'presence:unsubscribe';

/** Sends an event with an ack over the open socket; null when there is none. */
export type TopicRequest = (event: TopicEvent, payload: { topics: string[] }) => Promise<unknown> | null;

/** Most topics the gateway takes in one event. */
const TOPICS_PER_EVENT = 100;

interface Pending {
  topics: string[];
  resolve: (ack: TopicAck) => void;
}

export class TopicSubscriptions {
  private readonly wanted = new Set<string>();
  private readonly handlers = new Map<string, Set<TopicHandler>>();
  private pending: Pending[] = [];
  private readonly watchers = new Map<string, Set<PresenceHandler>>();
  private readonly lastCounts = new Map<string, PresenceUpdate>();
  private pendingWatches: Pending[] = [];

  constructor(private readonly request: TopicRequest) {}

  /** What `auth.topics` carries on the next connection. */
  list(): string[] {
    return [...this.wanted];
  }

  async subscribe(topics: string[]): Promise<TopicAck> {
    for (const topic of topics) this.wanted.add(topic);
    const ack = await this.ask('subscribe', topics);
    if (ack) {
      this.forgetDenied(ack);
      return ack;
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

  watchPresence(topics: string[], handler: PresenceHandler): PresenceWatch {
    const distinct = [...new Set(topics)];
    for (const topic of distinct) {
      let set = this.watchers.get(topic);
      if (!set) this.watchers.set(topic, (set = new Set()));
      set.add(handler);
      const last = this.lastCounts.get(topic);
      if (last) handler(last);
    }
    const ready = this.ask('presence:subscribe', distinct).then((ack) => {
      if (!ack) return new Promise<TopicAck>((resolve) => this.pendingWatches.push({ topics: distinct, resolve }));
      this.forgetDeniedWatches(ack);
      return ack;
    });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      const released = distinct.filter((topic) => {
        const set = this.watchers.get(topic);
        set?.delete(handler);
        if (!set || set.size > 0) return false;
        this.watchers.delete(topic);
        this.lastCounts.delete(topic);
        return true;
      });
      if (released.length > 0) void this.request('presence:unsubscribe', { topics: released })?.catch(() => undefined);
    };
    return { ready, stop };
  }

  /** A watched topic's counts arrived. */
  presence(update: PresenceUpdate): void {
    const set = this.watchers.get(update.topic);
    if (!set) return; // let go meanwhile
    this.lastCounts.set(update.topic, update);
    for (const handler of [...set]) handler(update);
  }

  /**
   * A connection synced; `access` is the verdict on its `auth.topics` (socket only). Topics
   * wanted since that handshake was sent are asked for now, and the watches of the last
   * socket (which the gateway forgot) again. Without a socket nothing is asked.
   */
  async connected(access: TopicAck | undefined): Promise<void> {
    const verdict: TopicAck = { granted: [...(access?.granted ?? [])], denied: [...(access?.denied ?? [])] };
    const answered = new Set([...verdict.granted, ...verdict.denied.map((d) => d.topic)]);
    const missing = [...this.wanted].filter((topic) => !answered.has(topic));
    const late = missing.length > 0 ? await this.ask('subscribe', missing) : null;
    if (late) {
      verdict.granted.push(...late.granted);
      verdict.denied.push(...late.denied);
    }
    this.forgetDenied(verdict);
    this.pending = answerPending(this.pending, verdict);

    const watched = [...this.watchers.keys()];
    if (watched.length === 0) return;
    const ack = await this.ask('presence:subscribe', watched);
    if (!ack) return; // no socket (SSE, polling): the next socket sync asks
    this.forgetDeniedWatches(ack);
    this.pendingWatches = answerPending(this.pendingWatches, ack);
  }

  /** Asks in events of at most TOPICS_PER_EVENT topics; null when there is no socket or no answer. */
  private async ask(event: 'subscribe' | 'presence:subscribe', topics: string[]): Promise<TopicAck | null> {
    const answer: TopicAck = { granted: [], denied: [] };
    for (let i = 0; i < topics.length; i += TOPICS_PER_EVENT) {
      const asked = this.request(event, { topics: topics.slice(i, i + TOPICS_PER_EVENT) });
      if (!asked) return null;
      try {
        const ack = (await asked) as TopicAck;
        if (!Array.isArray(ack?.granted)) return null;
        answer.granted.push(...ack.granted);
        answer.denied.push(...ack.denied);
      } catch {
        return null; // no answer (the connection dropped): the next connection's verdict answers
      }
    }
    return answer;
  }

  private forgetDenied(ack: TopicAck): void {
    for (const { topic } of ack.denied) this.wanted.delete(topic);
  }

  private forgetDeniedWatches(ack: TopicAck): void {
    for (const { topic } of ack.denied) {
      this.watchers.delete(topic);
      this.lastCounts.delete(topic);
    }
  }
}

/** Resolves each pending request whose topics `access` all answers (with its own part); returns the others. */
function answerPending(pending: readonly Pending[], access: TopicAck): Pending[] {
  const answered = new Set([...access.granted, ...access.denied.map((d) => d.topic)]);
  return pending.filter(({ topics, resolve }) => {
    if (!topics.every((t) => answered.has(t))) return true;
    resolve({
      granted: access.granted.filter((t) => topics.includes(t)),
      denied: access.denied.filter((d) => topics.includes(d.topic)),
    });
    return false;
  });
}
