/**
 * Start-up: brings the stream to STREAM_PARTITIONS partitions when it has another count.
 *
 * The move (store/stream-layout-repository.ts) restarts every consumer from a lower
 * cursor, which only works while no consumer runs: a running relay keeps its position in
 * memory and would skip the rows moved to it. So the move is refused while any consumer
 * lease, of the old layout or the new, is held by another instance: changing the count
 * means stopping every instance, then starting them with the new setting. Instances that
 * only write (they hold no lease) are fenced instead: their next write finds no sequence
 * row of their layout and fails, and they stop (gateway.ts).
 */
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { CONSUMER_KINDS, consumerName } from './stream-partitions.js';

/** Which of these consumers' leases another process holds (empty on SQLite: one process). */
export type LeaseProbe = (consumers: readonly string[]) => Promise<string[]>;

export async function settleStreamLayout(store: Store, wanted: number, leasesInUse: LeaseProbe, logger: Logger): Promise<number> {
  if ((await store.streamLayout.partitions()) === wanted) return wanted;
  return store.exclusively(async () => {
    const current = await store.streamLayout.partitions();
    if (current === wanted) return wanted;
    const consumers = CONSUMER_KINDS.flatMap((kind) => Array.from({ length: Math.max(current, wanted) }, (_, p) => consumerName(kind, p)));
    const held = await leasesInUse(consumers);
    if (held.length > 0) {
      throw new Error(
        `STREAM_PARTITIONS is ${wanted} but the stream has ${current} partition(s), and running instances lead its consumers (${held.join(', ')}): ` +
          'stop every instance, then start them with the new setting',
      );
    }
    const move = await store.streamLayout.moveTo(wanted);
    if (move) logger.warn(move, 'stream moved to a new partition count');
    return wanted;
  });
}
