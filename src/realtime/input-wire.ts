/**
 * A notification as clients receive it, built from what was POSTed rather than read back
 * from the store: for emits that do not wait for the relay (urgent out of band, transient).
 * Through the row codec, so the payload has exactly the shape the relay sends.
 */
import type { NotificationInput } from '../outbox/notification-writer.js';
import { encodeDevices, encodeSegments, encodeTopics, toWire, type WireNotification } from '../store/message-codec.js';

export function wireOfInput(input: NotificationInput, id: string, createdAt: number): WireNotification {
  return toWire({
    id,
    tenant_id: input.tenantId,
    kind: input.kind,
    scope: input.scope,
    title: input.title,
    body: input.body ?? null,
    data: input.data ?? null,
    priority: input.priority,
    dedupe_key: input.dedupeKey ?? null,
    seq: null,
    created_at: createdAt,
    expires_at: input.ttlSeconds ? createdAt + input.ttlSeconds * 1000 : null,
    topics: encodeTopics(input.topics),
    devices: encodeDevices(input.devices),
    segments: encodeSegments(input.segments),
  });
}
