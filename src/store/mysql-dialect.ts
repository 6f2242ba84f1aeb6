import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { SEQUENCE_TABLE } from '../../migrations/20261122_002_write_time_seq.js';
import { StreamLayoutChanged } from '../stream/stream-partitions.js';
import { errorCode, type StoreDialect } from './dialect.js';
import { isPoolTimeout } from './sqlite-dialect.js';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

export const mysqlDialect: StoreDialect = {
  name: 'mysql',
  knexConfig(url, { poolMax, acquireTimeoutMs }): Knex.Config {
    return {
      client: 'mysql2',
      connection: {
        uri: url,
        charset: 'utf8mb4',
        // We keep timestamps as epoch milliseconds; no driver date conversion.
        dateStrings: true,
        // A write goes as one multi-statement query (runWrite below). Every value in it is
        // a bound parameter, escaped by the driver; no SQL is built from input.
        multipleStatements: true,
        supportBigNumbers: true,
        bigNumberStrings: false,
        connectTimeout: Math.min(acquireTimeoutMs, 10_000),
      } as Knex.MySql2ConnectionConfig,
      acquireConnectionTimeout: acquireTimeoutMs,
      // min 0: idle instances hold no connections (budget instances × max under max_connections).
      pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000, afterCreate: boundLockWaits },
    };
  },
  isUnavailable(error) {
    return UNAVAILABLE_CODES.has(errorCode(error) ?? '') || isPoolTimeout(error) || isFatalDriverError(error) || error instanceof StreamLayoutChanged;
  },
  isUniqueViolation(error) {
    return errorCode(error) === 'ER_DUP_ENTRY';
  },
  /**
   * Instances starting together on a fresh database race inside knex's own migration
   * lock (both insert its lock row, then neither can ever take it). A server-side named
   * lock on a dedicated connection serialises them first; it dies with the connection.
   */
  async withMigrationLock(url, fn) {
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 10_000 });
    const name = `notify_migrate:${decodeURIComponent(new URL(url).pathname.slice(1))}`.slice(0, 64);
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [name, MIGRATION_LOCK_WAIT_S]);
      if (rows[0]?.got !== 1) throw new Error(`another instance held the migration lock for ${MIGRATION_LOCK_WAIT_S} s`);
      return await fn();
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  },
  // A session variable carries the new last position to the INSERTs of the same query.
  // Without the partition's sequence row of this layout it stays NULL and the guard fails
  // the query ("Subquery returns more than 1 row", whatever the sql_mode), so nothing commits.
  positions: {
    reserve: [
      'SET @notify_last_seq = NULL',
      `UPDATE ${SEQUENCE_TABLE} SET last_seq = (@notify_last_seq := last_seq + ?) WHERE name = ? AND partitions = ?`,
      'SET @notify_guard = (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE @notify_last_seq IS NULL)',
    ].join(';\n'),
    position: '@notify_last_seq + ?',
  },
  /**
   * One round trip: START TRANSACTION … COMMIT go as one multi-statement query, so the
   * sequence lock every write waits for is held for the server's work and the commit
   * only, never across a client round trip (whose event loop may be busy, or whose
   * process may be descheduled). The test seam takes the ordinary path instead.
   */
  async runWrite(db, statements, beforeCommit) {
    const sql = statements.map((s) => s.sql).join(';\n');
    const bindings: Knex.Value[] = [];
    for (const statement of statements) for (const value of statement.bindings) bindings.push(value);
    if (beforeCommit) {
      await db.transaction(async (trx) => {
        await trx.raw(sql, bindings);
        await beforeCommit();
      });
      return;
    }
    const conn = (await db.client.acquireConnection()) as DriverConnection;
    try {
      await query(conn, `START TRANSACTION;\n${sql};\nCOMMIT`, bindings);
    } catch (error) {
      // A failed statement stops the query: the transaction is still open on this connection.
      await query(conn, 'ROLLBACK', []).catch(() => conn.destroy());
      throw error;
    } finally {
      db.client.releaseConnection(conn);
    }
  },
};

/** The mysql2 connection under knex's pool (callback API). */
interface DriverConnection {
  query(sql: string, values: unknown[], cb: (err: Error | null) => void): void;
  destroy(): void;
}

function query(conn: DriverConnection, sql: string, values: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => conn.query(sql, values, (err) => (err ? reject(err) : resolve())));
}

const MIGRATION_LOCK_WAIT_S = 120;

/** Seconds a write may wait for the sequence lock before it answers 503 (server default 50). */
const LOCK_WAIT_S = 10;
/** Seconds a write transaction may sit idle before the server kills it (MariaDB only). */
const IDLE_WRITE_TRANSACTION_S = 30;

/**
 * Every write takes its partition's sequence row lock (PositionSql), so a stuck holder
 * stops the partition's writes: waiters give up after LOCK_WAIT_S, and on MariaDB a
 * holder whose client went silent mid-transaction (frozen process, lost network) is
 * killed after IDLE_WRITE_TRANSACTION_S instead of the server's hours-long wait_timeout.
 */
function boundLockWaits(conn: DriverConnection, done: (err: Error | null, conn: DriverConnection) => void): void {
  query(conn, `SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_S}`, [])
    .then(() =>
      query(conn, `SET SESSION idle_write_transaction_timeout = ${IDLE_WRITE_TRANSACTION_S}`, []).catch((err: { errno?: number }) => {
        if (err.errno !== 1193) throw err; // unknown system variable: MySQL has no such setting
      }),
    )
    .then(() => done(null, conn), (err: Error) => done(err, conn));
}

function isFatalDriverError(error: unknown): boolean {
  return Boolean(error && typeof error === 'object' && (error as { fatal?: unknown }).fatal === true);
}
