'use client';
/**
 * useTopic — holds a topic while the component is mounted: the latest messages (durable
 * and transient, newest first), the gateway's verdict, and the topic's presence if asked.
 *
 * - The client is the one `useNotifications` returns (or any NotificationClient); while it
 *   is null (before the first effect) the result is empty.
 * - Subscriptions are counted per client and topic: several components may hold the same
 *   topic, and it is unsubscribed when the last of them unmounts (or changes topic).
 *   Resubscribing after a reconnect, and replaying what was missed, is the client's.
 * - Presence (`presence: true`) is watched the same way (`client.watchPresence`).
 */
import { useEffect, useRef, useState } from 'react';
import type { NotificationClient } from './notification-client.js';
import type { Notification, PresenceUpdate, TopicAck } from './types.js';

export interface UseTopicOptions {
  /** Also watch the topic's presence (`{ connections, users }`). */
  presence?: boolean;
  /** How many of the latest messages to keep (default 20). */
  keep?: number;
}

export interface UseTopicResult {
  /** Newest first, at most `keep`. */
  messages: Notification[];
  latest: Notification | null;
  /** Null until presence is watched and its first counts arrived. */
  presence: PresenceUpdate | null;
  /** The gateway's verdict on the subscription; null until it answered. */
  access: TopicAck | null;
}

interface TopicState {
  messages: Notification[];
  presence: PresenceUpdate | null;
  access: TopicAck | null;
}

const EMPTY: TopicState = { messages: [], presence: null, access: null };

export function useTopic(client: NotificationClient | null, topic: string, options: UseTopicOptions = {}): UseTopicResult {
  const { presence: watchPresence = false, keep = 20 } = options;
  const [state, setState] = useState<TopicState>(EMPTY);
  // Read when a message arrives: changing it does not resubscribe.
  const kept = useRef(keep);
  kept.current = Math.max(1, keep);

  useEffect(() => {
    if (!client) return;
    let live = true;
    const held = holdTopic(client, topic);
    void held.ack.then((access) => live && setState((s) => ({ ...s, access })));
    const off = client.onTopic(topic, (notification) => {
      setState((s) => ({ ...s, messages: [notification, ...s.messages].slice(0, kept.current) }));
    });
    const watch = watchPresence ? client.watchPresence([topic], (presence) => live && setState((s) => ({ ...s, presence }))) : null;
    return () => {
      live = false;
      off();
      watch?.stop();
      held.release();
      setState(EMPTY);
    };
  }, [client, topic, watchPresence]);

  return { ...state, latest: state.messages[0] ?? null };
}

/** How many mounted hooks hold each topic, per client. */
const holders = new WeakMap<NotificationClient, Map<string, number>>();

function holdTopic(client: NotificationClient, topic: string): { ack: Promise<TopicAck>; release(): void } {
  let counts = holders.get(client);
  if (!counts) holders.set(client, (counts = new Map()));
  counts.set(topic, (counts.get(topic) ?? 0) + 1);
  // Asked every time: a topic already held is granted again at once, and each hook gets its verdict.
  const ack = client.subscribe([topic]);
  let released = false;
  return {
    ack,
    release() {
      if (released) return;
      released = true;
      const left = (counts.get(topic) ?? 1) - 1;
      if (left > 0) return void counts.set(topic, left);
      counts.delete(topic);
      void client.unsubscribe([topic]);
    },
  };
}
