/**
 * Reads what the HTTP API does not show about the delivery queue: a row's lock (who holds
 * it, since when), straight from the store; and one counter sample from an instance's
 * /metrics (each gateway has its own registry, so per-instance work is observable).
 */
import type { Knex } from 'knex';

export interface DeliveryLockState {
  id: string;
  status: string;
  attempts: number;
  lockedBy: string | null;
  lockedAt: number | null;
  lastError: string | null;
}

/** The one delivery row of a message (throws unless there is exactly one). */
export async function deliveryRowOf(db: Knex, messageId: string): Promise<DeliveryLockState> {
  const rows = (await db('notify_deliveries')
    .where({ message_id: messageId })
    .select('id', 'status', 'attempts', 'locked_by', 'locked_at', 'last_error')) as Record<string, unknown>[];
  if (rows.length !== 1) throw new Error(`expected one delivery of ${messageId}, found ${rows.length}`);
  const r = rows[0]!;
  return {
    id: r.id as string,
    status: r.status as string,
    attempts: Number(r.attempts),
    lockedBy: (r.locked_by as string | null) ?? null,
    lockedAt: r.locked_at === null || r.locked_at === undefined ? null : Number(r.locked_at),
    lastError: (r.last_error as string | null) ?? null,
  };
}

/** One sample of a Prometheus metric, e.g. metricValue(url, 'x_total', 'a="b"'); 0 when absent. */
export async function metricValue(baseUrl: string, name: string, labels: string): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status}`);
  const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
