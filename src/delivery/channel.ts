/**
 * The channel contract. Every external channel (webhook, wecom, email, webpush) is a
 * driver behind this one interface, in its own folder; the delivery worker knows
 * nothing else about them.
 *
 * Rules every driver keeps:
 * - `send` never throws for a delivery failure: it answers an outcome. `sent` = the
 *   far side accepted it; `retry` = try again later (optionally not before
 *   `retryAfterMs`, e.g. an HTTP `Retry-After` or WeCom's 45009); `permanent` = retrying
 *   cannot help (bad request, invalid robot key, mailbox does not exist): the row goes
 *   straight to `dead`. `deferred` = the driver did not try at all (its own rate limit
 *   is full); the attempt is not counted.
 * - A driver that throws anyway is treated as `retry` (PermanentDeliveryError as
 *   `permanent`), so a bug never drops a delivery silently.
 * - `job.deliveryId` is the same on every attempt of one delivery: receivers dedupe on it
 *   (webhook-id), because delivery is at-least-once (a worker killed after sending but
 *   before recording leaves the row to be sent again).
 * - Secrets (webhook secret, robot key, SMTP password) never appear in an outcome's
 *   error text, nor in a log line.
 * - External payloads are privacy-safe by default: `message.body` and `message.data` are
 *   null unless the notification asked for `external: "full"` (see external-message.ts).
 */

export type ChannelType = 'webhook' | 'wecom' | 'email' | 'webpush';
export const CHANNEL_TYPES: readonly ChannelType[] = ['webhook', 'wecom', 'email', 'webpush'];

/** What an external channel may show of a notification. */
export interface ExternalMessage {
  id: string;
  kind: string;
  tenantId: string;
  title: string;
  /** null unless the notification is `external: "full"`. */
  body: string | null;
  /** null unless the notification is `external: "full"`. */
  data: Record<string, unknown> | null;
  /** Where the external message points (into the app); null when none was given. */
  link: string | null;
  priority: string;
  createdAt: string;
  mentions: Mentions | null;
  /** Set when this message is a digest: what it summarises (the newest first). */
  digest?: { key: string; count: number; latest: { id: string; kind: string; title: string; createdAt: string }[] };
}

/** WeCom @-mentions (other channels ignore them). */
export interface Mentions {
  userIds: string[];
  mobiles: string[];
  all: boolean;
}

/** The addresses a user gave for external channels (PUT /api/recipients/:userId). */
export interface RecipientAddress {
  userId: string;
  email: string | null;
  mobile: string | null;
  wecomUserId: string | null;
  locale: string | null;
  timezone: string | null;
}

/** A browser push subscription (PushSubscription.toJSON() in the browser). */
export interface PushTarget {
  id: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebhookConfig {
  type: 'webhook';
  url: string;
  /** Standard Webhooks secret: `whsec_` + base64 of the key bytes. */
  secret: string;
}
export interface WecomConfig {
  type: 'wecom';
  /** The group robot's webhook URL, `…/cgi-bin/webhook/send?key=…`. */
  url: string;
}
export interface EmailConfig {
  type: 'email';
}
export interface WebpushConfig {
  type: 'webpush';
}
export type ChannelConfig = WebhookConfig | WecomConfig | EmailConfig | WebpushConfig;

export interface DeliveryJob {
  /** Stable across attempts: receivers dedupe on it. */
  deliveryId: string;
  /** 1 on the first try. */
  attempt: number;
  tenantId: string;
  /** The tenant's channel name (`PUT /api/channels/:name`). */
  channelName: string;
  config: ChannelConfig;
  message: ExternalMessage;
  /** email and webpush: the user this delivery is for; null for endpoint channels. */
  recipient: RecipientAddress | null;
  /** webpush: the subscription to push to. */
  push: PushTarget | null;
}

export type SendOutcome =
  | { status: 'sent' }
  | { status: 'retry'; error: string; retryAfterMs?: number }
  /** `subscriptionGone`: the push service says the subscription no longer exists (404/410): it is removed. */
  | { status: 'permanent'; error: string; subscriptionGone?: boolean }
  | { status: 'deferred'; retryAfterMs: number; error: string };

export interface ChannelDriver {
  readonly type: ChannelType;
  /** `signal` aborts when the worker stops; the driver's own timeout applies too. */
  send(job: DeliveryJob, signal: AbortSignal): Promise<SendOutcome>;
  close?(): Promise<void>;
}

/** Thrown by a driver (or its helpers) when retrying cannot help: the delivery goes to `dead`. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

/** Thrown by a driver (or its helpers) for a failure worth retrying, optionally not before `retryAfterMs`. */
export class RetryableDeliveryError extends Error {
  override name = 'RetryableDeliveryError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Maps whatever a driver threw onto an outcome (see the rules above). */
export function outcomeOfError(error: unknown): SendOutcome {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof PermanentDeliveryError) return { status: 'permanent', error: text };
  if (error instanceof RetryableDeliveryError) {
    return error.retryAfterMs === undefined ? { status: 'retry', error: text } : { status: 'retry', error: text, retryAfterMs: error.retryAfterMs };
  }
  return { status: 'retry', error: text };
}
