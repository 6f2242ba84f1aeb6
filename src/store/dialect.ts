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
  /**
   * Runs one write as one transaction: `statements[0]` reserves its positions (and must
   * change exactly one row, else nothing commits), the rest insert its rows. The rows of
   * one write are of one partition.
   * `beforeCommit` is a test seam that parks the open transaction before COMMIT.
   */
  runWrite(db: Knex, statements: readonly WriteStatement[], beforeCommit?: () => Promise<void>): Promise<void>;
  /**
   * Most rows one write transaction should hold, when the driver runs it synchronously
   * (the event loop waits for all of it); undefined: only the group-commit bounds apply.
   */
  readonly writeRowBudget?: number;
}

export interface WriteStatement {
  sql: string;
  bindings: Knex.Value[];
  /** Indexes of the bindings that are position offsets (see PositionSql.position). */
  positionSlots: number[];
}

/**
 * Positions are reserved by the first statement of a write transaction, which locks the
 * partition's sequence row until the transaction ends (migrations/20261122_002_write_time_seq.ts,
 * stream/stream-partitions.ts).
 */
export interface PositionSql {
  /**
   * Adds the first `?` (the block size: rows × partitions) to the last position of the
   * sequence row named by the second `?` whose layout is the third `?` (the partition
   * count), and remembers the new last one. No such row: the write fails whole.
   */
  reserve: string;
  /**
   * The SQL of one row's position; its binding is the row's offset from the new last
   * position (row i of n: i - n + 1). Either an expression on the remembered last one,
   * or `?` when the dialect adds the last position to the offset itself.
   */
  position: string;
}

export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
