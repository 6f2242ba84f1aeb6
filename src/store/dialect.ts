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
  /**
   * Reserves `count` consecutive positions inside `trx` and returns the first. Locks the
   * sequence row until `trx` ends, so transactions commit in the order of their positions
   * (see migrations/20261122_002_write_time_seq.ts). Call it first in the transaction.
   */
  reservePositions(trx: Knex.Transaction, count: number): Promise<number>;
}

export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
