/**
 * The contract each store driver fulfils. Everything above `store/` speaks knex and
 * this interface; driver quirks (connection options, error codes) stay in
 * `sqlite-dialect.ts` and `mysql-dialect.ts`.
 */
import type { Knex } from 'knex';

export interface StoreDialect {
  readonly name: 'sqlite' | 'mysql';
  knexConfig(url: string, options: { poolMax: number; acquireTimeoutMs: number }): Knex.Config;
  /** Connection refused / lost / pool timeout: the caller should answer 503 and retry later. */
  isUnavailable(error: unknown): boolean;
  isUniqueViolation(error: unknown): boolean;
  /** Runs `fn` while no other process migrates this database. */
  withMigrationLock<T>(url: string, fn: () => Promise<T>): Promise<T>;
  /** How a write takes its positions (see outbox/notification-writer.ts). */
  readonly positions: PositionSql;
}

/**
 * Positions are reserved by the first statement of a write transaction, which locks the
 * sequence row until the transaction ends (migrations/20261122_002_write_time_seq.ts).
 */
export interface PositionSql {
  /** Adds `?` (the block size) to the last position and remembers the new last one. */
  reserve: string;
  /** The remembered last position plus `?`: row i of n gets the binding i - n + 1. */
  position: string;
  /**
   * True when the reserve statement and the INSERTs may go as one multi-statement query:
   * the lock is then held for the server's work only, not for client round trips.
   */
  oneRoundTrip: boolean;
}

export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
