/**
 * Metrics of the external delivery queue. Labels are bounded sets only: the channel
 * type (webhook, wecom, email, webpush) and the outcome, never a tenant's channel name.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface DeliveryQueueStats {
  byStatus: Record<string, number>;
  oldestWaitingSeconds: number;
}

export function createDeliveryMetrics(registers: Registry[], stats: () => Promise<DeliveryQueueStats | null>) {
  return {
    outcomes: new Counter({
      name: 'notify_deliveries_total',
      help:
        'External deliveries finished or rescheduled, by channel type and outcome: sent; retry (the attempt failed, another is scheduled); dead (no more attempts); suppressed (nothing to send); deferred (held back by the channel rate limit); folded (over the recipient limit, folded into a digest)',
      labelNames: ['channel_type', 'outcome'] as const,
      registers,
    }),
    attempts: new Counter({
      name: 'notify_delivery_attempts_total',
      help: 'Send attempts made by delivery workers, by channel type',
      labelNames: ['channel_type'] as const,
      registers,
    }),
    sendDuration: new Histogram({
      name: 'notify_delivery_send_duration_seconds',
      help: 'Time one send attempt took, by channel type',
      labelNames: ['channel_type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    throttled: new Gauge({
      name: 'notify_delivery_throttled',
      help: '1 while a channel type had a send deferred by its own rate limit in the last minute (e.g. a WeCom robot at 20/min)',
      labelNames: ['channel_type'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'notify_delivery_queue_depth',
      help: 'Delivery rows by status (pending, sending, failed awaiting retry, dead)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const s = await stats();
        if (s) for (const [status, n] of Object.entries(s.byStatus)) this.set({ status }, n);
      },
    }),
    oldestPending: new Gauge({
      name: 'notify_delivery_oldest_pending_seconds',
      help: 'Age of the oldest delivery waiting to be sent (pending or failed); 0 when none',
      registers,
      async collect() {
        const s = await stats();
        if (s) this.set(s.oldestWaitingSeconds);
      },
    }),
  };
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;
