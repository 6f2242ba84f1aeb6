/**
 * Spreads the leases of one consumer kind (the relays, or the planners) of a partitioned
 * stream over the running instances: an instance takes a free lease only while it holds
 * fewer than its share, ceil(partitions / instances), and gives one back (the highest
 * partition it holds) when it holds more. So a second instance that starts finds work
 * handed to it, and an instance that stops leaves its partitions to the others.
 *
 * The instance count is read from the fan-out (every instance subscribes to it) on each
 * `refresh`; when it cannot be read, this instance counts itself alone and takes every free
 * lease. Leases stay exclusive whatever the count says: a wrong count makes the spread
 * uneven, it never lets two instances lead one partition.
 */
import type { ConsumerLease } from './consumer-lease.js';

/** What a consumer loop asks before taking its lease and after each batch. */
export interface LeaseGate {
  mayAcquire(): boolean;
  shouldYield(): boolean;
  /** `listener` runs when a new instance count leaves this instance over its share. */
  onOverShare(listener: () => void): void;
}

export class LeaseShare {
  private instances = 1;
  private readonly overShareListeners: (() => void)[] = [];

  constructor(private readonly leases: readonly ConsumerLease[]) {}

  /** Sets how many instances share the leases (at least 1). */
  setInstances(count: number): void {
    this.instances = Math.max(1, Math.floor(count) || 1);
    // An idle leader looks at its gate only between polls: tell it now.
    if (this.held().length > this.share()) for (const listener of this.overShareListeners) listener();
  }

  /** How many leases one instance should lead at most. */
  share(): number {
    return Math.ceil(this.leases.length / this.instances);
  }

  /** The gate of the lease of partition `index`. */
  gateOf(index: number): LeaseGate {
    return {
      mayAcquire: () => this.held().length < this.share(),
      shouldYield: () => {
        const held = this.held();
        return held.length > this.share() && held[held.length - 1] === index;
      },
      onOverShare: (listener) => void this.overShareListeners.push(listener),
    };
  }

  private held(): number[] {
    const indexes: number[] = [];
    this.leases.forEach((lease, i) => {
      if (lease.isHeld()) indexes.push(i);
    });
    return indexes;
  }
}

/** Reads the instance count into `shares` every `ms` (and once now); returns the stop function. */
export function refreshLeaseShares(shares: readonly LeaseShare[], countInstances: () => Promise<number>, ms: number): () => void {
  const refresh = () =>
    countInstances().then(
      (count) => shares.forEach((s) => s.setInstances(count)),
      () => shares.forEach((s) => s.setInstances(1)),
    );
  void refresh();
  const timer = setInterval(() => void refresh(), ms);
  timer.unref();
  return () => clearInterval(timer);
}
