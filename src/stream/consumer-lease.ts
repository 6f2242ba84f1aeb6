/**
 * One leader per consumer of the stream at a time (two realtime relays would interleave
 * their batches; two planners would race for one cursor). A ConsumerLease says whether
 * this process is that leader. Drivers: `local-lease.ts` (SQLite: one process, always
 * the holder) and `mysql-lease.ts` (GET_LOCK on a dedicated connection: the lock dies
 * with the connection, so a killed holder frees it at once).
 */
export interface ConsumerLease {
  /** Try to become (or stay) the holder; true while held. Never throws. */
  tryAcquire(): Promise<boolean>;
  /** Cheap check before each batch; false once the lease is known lost. */
  isHeld(): boolean;
  /** Resolves when a held lease is lost (connection dropped); used to stop mid-wait. */
  onLost(listener: () => void): void;
  release(): Promise<void>;
}
