/**
 * What an external channel may show of a notification. Privacy-safe by default: title,
 * kind, priority, link and mentions; the body and `data` only when the notification set
 * `external: "full"`. In-app payloads are not affected: this is for copies that leave the
 * product (a partner's server, a chat group, a mailbox, a lock screen).
 */
import type { ClaimedDelivery } from '../store/delivery-repository.js';
import type { ExternalMessage } from './channel.js';

export function toExternalMessage(claimed: ClaimedDelivery & { message: NonNullable<ClaimedDelivery['message']> }): ExternalMessage {
  const { message } = claimed;
  const spec = message.delivery;
  const full = spec?.external === 'full';
  const mentions = spec?.mentions;
  return {
    id: claimed.messageId,
    kind: message.kind,
    tenantId: claimed.tenantId,
    title: message.title,
    body: full ? message.body : null,
    data: full ? message.data : null,
    link: spec?.link ?? null,
    priority: message.priority,
    createdAt: new Date(message.createdAt).toISOString(),
    mentions: mentions ? { userIds: mentions.userIds ?? [], mobiles: mentions.mobiles ?? [], all: mentions.all ?? false } : null,
  };
}
