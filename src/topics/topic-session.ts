/**
 * A socket's topics: `subscribe` / `unsubscribe`, `presence:subscribe` /
 * `presence:unsubscribe`, and the topics a (re)connecting client names in `auth.topics`.
 *
 * Rules:
 * - Every topic is authorised (topic-authorizer.ts) before it is held; the ack lists
 *   `{ granted, denied: [{ topic, reason }] }`. Topics already held are granted again
 *   without asking. A malformed payload is acked `{ error: { code, message } }`.
 * - A socket holds at most MAX_TOPICS_PER_SOCKET topics, and watches at most as many;
 *   the topics over it are denied `too_many_topics` (checked again after authorisation,
 *   so concurrent subscribes cannot pass it together).
 * - A held topic is a room (`topicRoom`): the relay and transient emits reach it on every
 *   instance through the adapter. It is also counted in presence (presence-store.ts).
 * - `auth.topics` is authorised during the handshake; what was granted is joined before
 *   replay (socket-gateway.ts), so the replay after `lastAckId` includes those topics'
 *   messages, and `notify:synced` carries `topics: { granted, denied }`.
 * - On disconnect every topic and watch is let go.
 * - Compatibility (compat-events.ts): `subscribeCount` / `unsubscribeCount` are
 *   `presence:subscribe` / `presence:unsubscribe` under the common protocol's names, and
 *   every topic event also takes a bare topic or array of topics (compat-payload.ts).
 */
import type { Socket } from 'socket.io';
import { z } from 'zod';
import type { Principal } from '../auth/user-token.js';
import type { Logger } from '../logger.js';
import type { PresenceStore } from '../presence/presence-store.js';
import type { PresenceWatchers } from '../presence/presence-watchers.js';
import type { TopicAuthorizer, TopicAccess } from './topic-authorizer.js';
import type { TopicMetrics } from './topic-metrics.js';
import { TOPIC, topicRoom } from './topic-names.js';
import { speakCompat, wantsCompat } from './compat-events.js';
import { topicsPayload } from './compat-payload.js';

export const TOPIC_EVENTS = ['subscribe', 'unsubscribe', 'presence:subscribe', 'presence:unsubscribe', 'subscribeCount', 'unsubscribeCount'] as const;
export const TOO_MANY_TOPICS = 'too_many_topics';

/** What a socket carries for its topics (part of the gateway's SocketData). */
export interface TopicSocketData {
  principal: Principal;
  /** The token's `topics` claim patterns. */
  topicPatterns: readonly string[];
  /** Topics held (subscribed). */
  topics: Set<string>;
  /** Topics whose presence the socket watches. */
  watching: Set<string>;
  /** The verdict on `auth.topics`, for `notify:synced`; null when the handshake named none. */
  handshakeTopics: TopicAccess | null;
  /** Also sent `dataUpdate` copies (compat-events.ts). */
  compat: boolean;
}

export interface TopicSessionDeps {
  authorizer: TopicAuthorizer;
  presence: PresenceStore;
  watchers: PresenceWatchers;
  maxTopicsPerSocket: number;
  metrics: TopicMetrics;
  logger: Logger;
}

export type UnsubscribeAck = { unsubscribed: string[] };
export type TopicAck = TopicAccess | UnsubscribeAck | { error: { code: 'VALIDATION_FAILED'; message: string } };

// The structural minimum of a socket used here: any gateway socket type fits.
type TopicSocket = Pick<Socket, 'join' | 'leave' | 'on' | 'emit' | 'onAnyOutgoing' | 'disconnected' | 'handshake'> & { data: TopicSocketData };
type Next = (error?: Error) => void;

export class TopicSessions {
  private readonly payload: z.ZodType<string[], unknown>;

  constructor(private readonly deps: TopicSessionDeps) {
    // Bounded so one event cannot ask for more work than a socket may ever hold.
    this.payload = topicsPayload(Math.max(100, deps.maxTopicsPerSocket));
  }

  /** Handshake middleware: authorises `auth.topics` (after the token is verified). */
  readonly handshake = async (socket: TopicSocket, next: Next): Promise<void> => {
    const data = socket.data;
    data.topics = new Set();
    data.watching = new Set();
    data.topicPatterns ??= [];
    data.handshakeTopics = null;
    data.compat = false;
    const asked = (socket.handshake.auth as { topics?: unknown } | undefined)?.topics;
    if (asked === undefined) return next();
    const parsed = z.array(z.string().max(256)).safeParse(asked);
    if (!parsed.success) {
      data.handshakeTopics = { granted: [], denied: [] };
      return next();
    }
    try {
      // Held now, joined and counted on connection (attach, and the gateway's rooms before replay).
      const access = await this.grant(data, parsed.data, data.topics, () => true);
      data.handshakeTopics = access;
      this.deps.metrics.subscribed('handshake', access.granted.length, access.denied);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'handshake topics could not be authorised');
      data.handshakeTopics = { granted: [], denied: [...new Set(parsed.data)].map((topic) => ({ topic, reason: 'check_unavailable' })) };
    }
    next();
  };

  /** The rooms of the topics granted at the handshake (joined with the user's rooms, before replay). */
  rooms(socket: TopicSocket): string[] {
    const { principal, topics } = socket.data;
    return [...topics].map((topic) => topicRoom(principal.tenantId, topic));
  }

  /** On connection: counts the socket, its handshake topics, and listens to the topic events. */
  attach(socket: TopicSocket): void {
    const { presence } = this.deps;
    const { principal } = socket.data;
    presence.connected(principal.tenantId, principal.userId);
    for (const topic of socket.data.topics) presence.joined(principal.tenantId, topic, principal.userId);
    socket.on('subscribe', (payload: unknown, ack: unknown) => void this.subscribe(socket, payload, ack));
    socket.on('unsubscribe', (payload: unknown, ack: unknown) => this.unsubscribe(socket, payload, ack));
    socket.on('presence:subscribe', (payload: unknown, ack: unknown) => void this.watch(socket, payload, ack));
    socket.on('presence:unsubscribe', (payload: unknown, ack: unknown) => this.unwatch(socket, payload, ack));
    // The common protocol's names; a socket using them is answered in that protocol too.
    socket.on('subscribeCount', (payload: unknown, ack: unknown) => {
      speakCompat(socket);
      void this.watch(socket, payload, ack, 'subscribeCount');
    });
    socket.on('unsubscribeCount', (payload: unknown, ack: unknown) => this.unwatch(socket, payload, ack, 'unsubscribeCount'));
    if (wantsCompat(socket.handshake)) speakCompat(socket);
    socket.on('disconnect', () => {
      for (const topic of socket.data.topics) presence.left(principal.tenantId, topic, principal.userId);
      for (const topic of socket.data.watching) this.deps.watchers.unwatch(socket as unknown as Socket, principal.tenantId, topic);
      socket.data.topics.clear();
      socket.data.watching.clear();
      presence.disconnected(principal.tenantId, principal.userId);
    });
  }

  private async subscribe(socket: TopicSocket, payload: unknown, ack: unknown): Promise<void> {
    const topics = this.parse(socket, 'subscribe', payload, ack);
    if (!topics) return;
    const { principal } = socket.data;
    const access = await this.authorizeFor(socket, topics, socket.data.topics, (topic) => {
      socket.join(topicRoom(principal.tenantId, topic));
      this.deps.presence.joined(principal.tenantId, topic, principal.userId);
    });
    this.deps.metrics.subscribed('subscribe', access.granted.length, access.denied);
    reply(ack, access);
  }

  private unsubscribe(socket: TopicSocket, payload: unknown, ack: unknown): void {
    const topics = this.parse(socket, 'unsubscribe', payload, ack);
    if (!topics) return;
    const { principal } = socket.data;
    const unsubscribed: string[] = [];
    for (const topic of new Set(topics)) {
      if (!socket.data.topics.delete(topic)) continue;
      socket.leave(topicRoom(principal.tenantId, topic));
      this.deps.presence.left(principal.tenantId, topic, principal.userId);
      unsubscribed.push(topic);
    }
    reply(ack, { unsubscribed });
  }

  private async watch(socket: TopicSocket, payload: unknown, ack: unknown, event = 'presence:subscribe'): Promise<void> {
    const topics = this.parse(socket, event, payload, ack);
    if (!topics) return;
    const access = await this.authorizeFor(socket, topics, socket.data.watching, (topic) =>
      this.deps.watchers.watch(socket as unknown as Socket, socket.data.principal.tenantId, topic),
    );
    this.deps.metrics.subscribed(event, access.granted.length, access.denied);
    reply(ack, access);
  }

  private unwatch(socket: TopicSocket, payload: unknown, ack: unknown, event = 'presence:unsubscribe'): void {
    const topics = this.parse(socket, event, payload, ack);
    if (!topics) return;
    const unsubscribed: string[] = [];
    for (const topic of new Set(topics)) {
      if (!socket.data.watching.delete(topic)) continue;
      this.deps.watchers.unwatch(socket as unknown as Socket, socket.data.principal.tenantId, topic);
      unsubscribed.push(topic);
    }
    reply(ack, { unsubscribed });
  }

  /** `grant` for a connected socket; an authorisation that throws denies everything asked. */
  private async authorizeFor(socket: TopicSocket, topics: readonly string[], held: Set<string>, onHold: (topic: string) => void): Promise<TopicAccess> {
    try {
      return await this.grant(socket.data, topics, held, (topic) => {
        if (socket.disconnected) return false; // its topics were let go already
        onHold(topic);
        return true;
      });
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'topics could not be authorised');
      return { granted: [], denied: [...new Set(topics)].map((topic) => ({ topic, reason: 'check_unavailable' })) };
    }
  }

  /**
   * Authorises `topics` for a socket holding `held`, and holds what is granted: topics
   * already held are granted as they are; malformed names are denied before the limit
   * is applied; at most the room left under the limit is asked for, and the limit is
   * applied again while holding (no await between the check and the add), so that
   * concurrent requests cannot pass it together. `hold` returns false when the socket
   * is gone (nothing is held then).
   */
  private async grant(
    data: TopicSocketData,
    topics: readonly string[],
    held: Set<string>,
    hold: (topic: string) => boolean,
  ): Promise<TopicAccess> {
    const distinct = [...new Set(topics)];
    const already = distinct.filter((t) => held.has(t));
    const malformed = distinct.filter((t) => !held.has(t) && !TOPIC.test(t));
    const asked = distinct.filter((t) => !held.has(t) && TOPIC.test(t));
    const room = Math.max(0, this.deps.maxTopicsPerSocket - held.size);
    const access = await this.deps.authorizer.authorize(data.principal, data.topicPatterns, asked.slice(0, room));
    const denied = [
      ...access.denied,
      ...asked.slice(room).map((topic) => ({ topic, reason: TOO_MANY_TOPICS })),
      ...malformed.map((topic) => ({ topic, reason: 'invalid_topic' })),
    ];
    const granted = [...already];
    for (const topic of access.granted) {
      if (held.has(topic)) granted.push(topic);
      else if (held.size >= this.deps.maxTopicsPerSocket) denied.push({ topic, reason: TOO_MANY_TOPICS });
      else if (hold(topic)) {
        held.add(topic);
        granted.push(topic);
      }
    }
    return { granted, denied: distinct.flatMap((topic) => denied.filter((d) => d.topic === topic)) };
  }

  private parse(socket: TopicSocket, event: string, payload: unknown, ack: unknown): string[] | null {
    const parsed = this.payload.safeParse(payload);
    if (parsed.success) return parsed.data;
    const message = `${event} expects { topics: string[1..${Math.max(100, this.deps.maxTopicsPerSocket)}] } (or a topic, or an array of topics)`;
    if (typeof ack === 'function') reply(ack, { error: { code: 'VALIDATION_FAILED', message } });
    else socket.emit('notify:error', { code: 'VALIDATION_FAILED', message });
    return null;
  }
}

function reply(ack: unknown, result: TopicAck): void {
  if (typeof ack === 'function') (ack as (result: TopicAck) => void)(result);
}
