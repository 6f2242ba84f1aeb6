/**
 * The channel drivers this gateway can send through, from config: webhook and wecom
 * always; email with SMTP_URL; webpush with the VAPID keys. The WeCom robot limit is
 * shared through Redis when configured (every instance counts the same robot), in memory
 * otherwise (one process).
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { Config } from '../config/config.js';
import type { ChannelDriver, ChannelType } from './channel.js';
import { createEmailChannel } from './email/email-channel.js';
import { createWebhookChannel } from './webhook/webhook-channel.js';
import { createWebpushChannel } from './webpush/webpush-channel.js';
import { createMemoryRobotRateLimit, createRedisRobotRateLimit } from './wecom/robot-rate-limit.js';
import { createWecomChannel } from './wecom/wecom-channel.js';

export function createChannelDrivers(config: Config, redis: RedisClient | null): Map<ChannelType, ChannelDriver> {
  const allowPrivate = config.ALLOW_PRIVATE_WEBHOOKS;
  const timeoutMs = config.WEBHOOK_TIMEOUT_MS;
  const robotRate = { limit: config.WECOM_ROBOT_LIMIT, windowMs: config.WECOM_ROBOT_WINDOW_MS };
  const drivers = new Map<ChannelType, ChannelDriver>();
  drivers.set('webhook', createWebhookChannel({ timeoutMs, allowPrivate }));
  drivers.set(
    'wecom',
    createWecomChannel({
      timeoutMs,
      allowPrivate,
      rateLimit: redis
        ? createRedisRobotRateLimit(redis, { ...robotRate, keyPrefix: config.REDIS_KEY_PREFIX })
        : createMemoryRobotRateLimit(robotRate),
    }),
  );
  if (config.SMTP_URL && config.EMAIL_FROM) {
    drivers.set('email', createEmailChannel({ smtpUrl: config.SMTP_URL, from: config.EMAIL_FROM, timeoutMs: config.SMTP_TIMEOUT_MS }));
  }
  if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY && config.VAPID_SUBJECT) {
    drivers.set(
      'webpush',
      createWebpushChannel({
        vapid: { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY, subject: config.VAPID_SUBJECT },
        timeoutMs,
        allowPrivate,
      }),
    );
  }
  return drivers;
}
