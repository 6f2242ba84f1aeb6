/**
 * What an external channel may show of a notification. Privacy-safe by default: title,
 * kind, priority, link and mentions; the body and `data` only when the notification set
 * `external: "full"`. In-app payloads are not affected: this is for copies that leave the
 * product (a partner's server, a chat group, a mailbox, a lock screen).
 */
import { publicTenant } from '../apps/app-scope.js';
import type { ClaimedDelivery } from '../store/delivery-repository.js';
import type { DigestSummary } from '../store/digest-windows.js';
import { decodeDelivery } from '../store/message-codec.js';
import type { ExternalMessage } from './channel.js';

export function toExternalMessage(claimed: ClaimedDelivery & { message: NonNullable<ClaimedDelivery['message']> }): ExternalMessage {
  const { message } = claimed;
  const spec = message.delivery;
  const full = spec?.external === 'full';
  const mentions = spec?.mentions;
  return {
    id: claimed.messageId,
    kind: message.kind,
    tenantId: publicTenant(claimed.tenantId),
    title: message.title,
    body: full ? message.body : null,
    data: full ? message.data : null,
    link: spec?.link ?? null,
    priority: message.priority,
    createdAt: new Date(message.createdAt).toISOString(),
    mentions: mentions ? { userIds: mentions.userIds ?? [], mobiles: mentions.mobiles ?? [], all: mentions.all ?? false } : null,
  };
}

/**
 * A digest as one external message: the count in the title, the latest titles as the
 * body (titles are what a summary copy shows anyway), the newest member's link. Its id is
 * the digest's own (a receiver dedupes digests, not their members).
 */
export function toDigestMessage(claimed: ClaimedDelivery, digest: DigestSummary): ExternalMessage {
  const newest = digest.latest[0];
  const lines = digest.latest.map((m) => `• ${m.title}`);
  const more = digest.count - digest.latest.length;
  if (more > 0) lines.push(`… and ${more} more`);
  const title = digest.count === 1 && newest ? newest.title : `${digest.count} new notifications${newest ? `: ${newest.title}` : ''}`;
  return {
    id: claimed.id,
    kind: newest?.kind ?? digest.key,
    tenantId: publicTenant(claimed.tenantId),
    title,
    body: lines.join('\n'),
    data: null,
    link: (newest && decodeDelivery(newest.delivery)?.link) ?? null,
    priority: 'low',
    createdAt: new Date(newest?.createdAt ?? Date.now()).toISOString(),
    mentions: null,
    digest: {
      key: digest.key,
      count: digest.count,
      latest: digest.latest.map((m) => ({ id: m.messageId, kind: m.kind, title: m.title, createdAt: new Date(m.createdAt).toISOString() })),
    },
  };
}
