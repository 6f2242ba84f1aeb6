/** Topic and presence events of a TestClient, awaited through their acks. */
import type { TestClient } from './test-client.js';

export interface TopicAck {
  granted: string[];
  denied: { topic: string; reason: string }[];
}

export function subscribe(client: TestClient, topics: string[]): Promise<TopicAck> {
  return client.socket.timeout(10_000).emitWithAck('subscribe', { topics }) as Promise<TopicAck>;
}

export function unsubscribe(client: TestClient, topics: string[]): Promise<{ unsubscribed: string[] }> {
  return client.socket.timeout(10_000).emitWithAck('unsubscribe', { topics }) as Promise<{ unsubscribed: string[] }>;
}

export function watchPresence(client: TestClient, topics: string[]): Promise<TopicAck> {
  return client.socket.timeout(10_000).emitWithAck('presence:subscribe', { topics }) as Promise<TopicAck>;
}
