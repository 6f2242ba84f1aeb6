/**
 * The stream in partitions (STREAM_PARTITIONS): a tenant's notifications all go to one
 * partition, and each partition is a stream of its own — its own sequence row (so writes
 * of different partitions never wait for one lock), its own outbox rows and its own
 * consumers (`realtime#p`, `deliveries#p`), each with its own lease.
 *
 * Rules:
 * - Positions stay unique across partitions: partition p of P hands out p, p+P, p+2P… above
 *   the head at the time the layout was set (store/stream-layout-repository.ts). Replay
 *   compares positions of one tenant only, and a tenant is in one partition, so "after
 *   position N" keeps its meaning.
 * - Partition 0 keeps the names of the unpartitioned stream (`realtime`, `deliveries`, the
 *   sequence row `notify` while there is one partition), so a database that never set
 *   STREAM_PARTITIONS is exactly what it was.
 * - The mapping is a hash of the storage tenant key: every instance agrees on it without
 *   a lookup, and the app of the key is part of it.
 */
export type ConsumerKind = 'realtime' | 'deliveries';
/** Every consumer of the stream, each with a cursor and a lease per partition. */
export const CONSUMER_KINDS: readonly ConsumerKind[] = ['realtime', 'deliveries'];

/** One partition of a layout of `count` partitions. */
export interface StreamPartition {
  readonly index: number;
  readonly count: number;
}

export const MAX_STREAM_PARTITIONS = 64;

/** Which partition of `count` a storage tenant key is in (FNV-1a, 32 bits). */
export function partitionOf(tenantKey: string, count: number): number {
  if (count === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < tenantKey.length; i++) {
    hash ^= tenantKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}

/** All partitions of a layout, 0 first. */
export function partitionsOf(count: number): StreamPartition[] {
  return Array.from({ length: count }, (_, index) => ({ index, count }));
}

/** The durable cursor (and lease) name of a consumer of one partition. */
export function consumerName(kind: ConsumerKind, partition: number): string {
  return partition === 0 ? kind : `${kind}#${partition}`;
}

/** The sequence row a partition's writes lock (migrations/…_002_write_time_seq.ts). */
export function sequenceRowName(partition: number, count: number): string {
  return count === 1 ? 'notify' : `notify#${partition}`;
}

/**
 * A write refused because another process changed the stream layout since this one read
 * it: this process must restart to take the new layout (answered 503 until then).
 */
export class StreamLayoutChanged extends Error {
  override name = 'StreamLayoutChanged';
  readonly code = 'STREAM_LAYOUT_CHANGED';
  constructor(
    readonly had: number,
    readonly now: number,
  ) {
    super(`the stream now has ${now} partitions (this process started with ${had}): restart it`);
  }
}
