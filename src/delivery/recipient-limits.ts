/**
 * Per-recipient limits of the per-user external channels (email, browser push): at most
 * N messages per recipient and channel type per window, counted across instances (Redis
 * when configured, window-limits.ts). In-app is never limited; endpoint channels (webhook,
 * WeCom robot) have their own limits in their drivers.
 *
 * What goes over the limit is not dropped: the worker folds it into a digest that goes
 * out when the window ends (delivery-worker.ts, reason `rate_limited_folded`).
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { openLimitStore, WindowLimits, type LimitStore } from '../limits/window-limits.js';
import { redisTargetOf } from '../redis/redis-client.js';

export type RecipientVerdict = { allowed: true } | { allowed: false; resetMs: number };

export interface RecipientLimits {
  /** Charges one message to (tenant, recipient, channel type) when it fits. */
  charge(channelType: string, tenantId: string, recipient: string): Promise<RecipientVerdict>;
  close(): Promise<void>;
}

const limitName = (channelType: string) => `${channelType}_recipient`;

export async function openRecipientLimits(config: Config, logger: Logger): Promise<RecipientLimits> {
  const perType: Record<string, number> = { email: config.EMAIL_LIMIT_PER_RECIPIENT, webpush: config.WEBPUSH_LIMIT_PER_RECIPIENT };
  const store: LimitStore = await openLimitStore(redisTargetOf(config), `${config.REDIS_KEY_PREFIX}:recipient-limits`, logger);
  const limits = new WindowLimits(
    Object.entries(perType).map(([type, points]) => ({ name: limitName(type), points, windowSeconds: config.RECIPIENT_LIMIT_WINDOW_SECONDS })),
    store,
  );
  return {
    async charge(channelType, tenantId, recipient) {
      if (!perType[channelType]) return { allowed: true };
      const admission = await limits.admit(`${tenantId}:${recipient}`, [{ [limitName(channelType)]: 1 }]);
      return admission.refusedBy === null ? { allowed: true } : { allowed: false, resetMs: admission.refusedBy.resetSeconds * 1000 };
    },
    close: () => store.close(),
  };
}
