/**
 * Writes on SQLite (StoreDialect.runWrite). The one connection runs a write
 * synchronously from BEGIN to COMMIT (better-sqlite3), so nothing can interleave: the
 * new last position is read back (RETURNING) and added to each row's offset. Statements
 * are prepared once per SQL text and kept per connection; knex prepares every query
 * anew, and preparing a multi-row INSERT costs more than running it.
 *
 * Each statement holds the event loop while it runs, so a write is kept small
 * (SQLITE_WRITE_ROWS, the group-commit bound on SQLite), starts on a fresh turn of the
 * loop, and lets the loop turn between its statements once a slice (SLICE_MS) is used
 * up: the transaction stays open across those turns, and nothing else can run in it
 * because this write holds the pool's one connection until COMMIT. A 1,000-recipient
 * notification took ~40 ms as one stretch on an idle box (two 500-row inserts of ~10 ms,
 * then a ~15 ms COMMIT writing ~8 MB of index pages to the WAL) and over 100 ms on two
 * busy cores; sliced, the longest stretch is the COMMIT.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';
import { SLICE_MS, TimeSlice, yieldToEventLoop } from '../event-loop.js';
import { BoundedCache } from './bounded-cache.js';
import { checkpointerOf } from './sqlite-checkpointer.js';
import type { WriteStatement } from './dialect.js';

const STATEMENTS_KEPT = 64;

/**
 * Rows per write transaction on SQLite: one notification of 1,000 recipients, or about
 * 400 of one. A notification to 1,000 users writes ~3 MB of index pages to the WAL (the
 * inbox is clustered by user), and the COMMIT's write() waits for the disk once the
 * kernel throttles: such a transaction holds the event loop for ~10 ms on an idle box,
 * 30-100 ms on two busy cores. A notification is never split: one of up to 1,002 rows
 * always goes whole.
 */
export const SQLITE_WRITE_ROWS = 1_200;

/** How long a write runs before it lets the loop turn; a test sets 0 (a turn at every statement). */
export const sqliteWriteSlice = { ms: SLICE_MS };

const preparedByConnection = new WeakMap<Database, BoundedCache<Statement>>();

export async function runSqliteWrite(db: Knex, statements: readonly WriteStatement[], beforeCommit?: () => Promise<void>): Promise<void> {
  const [reserve, ...inserts] = statements;
  if (!reserve) return;
  if (beforeCommit) {
    // The test seam pauses inside the transaction: that needs knex's asynchronous one.
    await db.transaction(async (trx) => {
      const last = lastPosition(await trx.raw(reserve.sql, reserve.bindings));
      for (const insert of inserts) await trx.raw(insert.sql, withPositions(insert, last));
      await beforeCommit();
    });
    return;
  }
  await yieldToEventLoop();
  const checkpoints = await restartingWal(db);
  const conn = (await db.client.acquireConnection()) as Database;
  try {
    await slicedTransaction(conn, reserve, inserts);
  } finally {
    db.client.releaseConnection(conn);
    checkpoints.resume?.();
  }
  checkpointerOf(conn)?.written();
}

/** BEGIN … COMMIT on a connection this write holds, yielding between statements when due. */
async function slicedTransaction(conn: Database, reserve: WriteStatement, inserts: readonly WriteStatement[]): Promise<void> {
  const slice = new TimeSlice(sqliteWriteSlice.ms);
  prepared(conn, 'BEGIN IMMEDIATE').run();
  try {
    const last = lastPosition(prepared(conn, reserve.sql).all(reserve.bindings));
    for (const insert of inserts) {
      await slice.pause();
      prepared(conn, insert.sql).run(withPositions(insert, last));
    }
    await slice.pause();
    prepared(conn, 'COMMIT').run();
  } catch (error) {
    if (conn.inTransaction) prepared(conn, 'ROLLBACK').run();
    throw error;
  }
}

/**
 * When the WAL is full (sqlite-checkpointer.ts), pauses the checkpoints once they caught
 * up, so that this write starts the WAL over; `resume` lets them go on after it. The
 * connection is free for reads meanwhile.
 */
async function restartingWal(db: Knex): Promise<{ resume?: () => void }> {
  const conn = (await db.client.acquireConnection()) as Database;
  const checkpoints = checkpointerOf(conn);
  db.client.releaseConnection(conn);
  if (!checkpoints?.full) return {};
  return { resume: await checkpoints.hold() };
}

function lastPosition(rows: unknown): number {
  const last = (rows as { last_seq?: number }[])[0]?.last_seq;
  // Without its sequence row a write would store NULL positions: never commit that. The
  // row is missing when the migrations did not run, or when another process changed the
  // stream layout since this one read it (store/stream-layout-repository.ts).
  if (last === undefined) throw new Error('notify_sequence has no row for this partition and layout');
  return last;
}

/** Offsets become positions in place: a prepared write runs once (a retry prepares anew). */
function withPositions({ bindings, positionSlots }: WriteStatement, last: number): Knex.Value[] {
  for (const slot of positionSlots) bindings[slot] = last + (bindings[slot] as number);
  return bindings;
}

function prepared(conn: Database, sql: string): Statement {
  let kept = preparedByConnection.get(conn);
  if (!kept) preparedByConnection.set(conn, (kept = new BoundedCache<Statement>(STATEMENTS_KEPT)));
  return kept.get(sql, () => conn.prepare(sql));
}
