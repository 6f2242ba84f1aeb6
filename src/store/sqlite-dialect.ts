import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Knex } from 'knex';
import { SEQUENCE_TABLE } from '../../migrations/20261122_002_write_time_seq.js';
import { StreamLayoutChanged } from '../stream/stream-partitions.js';
import { errorCode, type StoreDialect } from './dialect.js';
import { startWalCheckpointer } from './sqlite-checkpointer.js';
import { runSqliteWrite, SQLITE_WRITE_ROWS } from './sqlite-write.js';

export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  knexConfig(url, { acquireTimeoutMs }): Knex.Config {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      acquireConnectionTimeout: acquireTimeoutMs,
      // One connection: SQLite serialises writers anyway, and one handle avoids SQLITE_BUSY.
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: Database, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          // Checkpoints (and their fsync) in a worker thread, not in our commits.
          if (filename !== ':memory:') startWalCheckpointer(conn, filename);
          done(null, conn);
        },
      },
    };
  },
  isUnavailable(error) {
    const code = errorCode(error) ?? '';
    return code === 'SQLITE_BUSY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR' || isPoolTimeout(error) || error instanceof StreamLayoutChanged;
  },
  isUniqueViolation(error) {
    const code = errorCode(error) ?? '';
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  // One process owns an embedded SQLite file; stores opened on it in one process (tests)
  // take turns.
  withMigrationLock(url, fn) {
    const previous = migrationTurns.get(url) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(fn);
    migrationTurns.set(url, turn);
    return turn;
  },
  // One connection, one write at a time: the reserve hands the new last position back and
  // sqlite-write.ts adds it to each row's offset.
  positions: {
    reserve: `UPDATE ${SEQUENCE_TABLE} SET last_seq = last_seq + ? WHERE name = ? AND partitions = ? RETURNING last_seq`,
    position: '?',
  },
  runWrite: runSqliteWrite,
  // A write holds the event loop from BEGIN to COMMIT (sqlite-write.ts).
  writeRowBudget: SQLITE_WRITE_ROWS,
};

const migrationTurns = new Map<string, Promise<unknown>>();

export function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'KnexTimeoutError';
}
