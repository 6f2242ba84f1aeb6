import type { OutboxState } from '../metrics/metrics.js';
import { toNumber } from '../store/message-codec.js';
import type { Store } from '../store/store.js';

/** Backlog and lag of the outbox, for metrics; the outbox stays small (rows are deleted once published). */
export async function readOutboxState(store: Store, now = Date.now()): Promise<OutboxState> {
  const row = await store.db('notify_outbox')
    .count<{ backlog: number | string }[]>({ backlog: '*' })
    .min({ oldest: 'created_at' })
    .first<{ backlog: number | string; oldest: number | string | null } | undefined>();
  const oldest = toNumber(row?.oldest);
  return {
    backlog: toNumber(row?.backlog) ?? 0,
    lagSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000),
  };
}
