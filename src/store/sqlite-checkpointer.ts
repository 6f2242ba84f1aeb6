/**
 * WAL checkpoints on SQLite, off the event loop.
 *
 * A checkpoint copies the WAL's pages into the database file and fsyncs it. SQLite runs
 * one by itself inside the COMMIT that takes the WAL past 1,000 pages, on the committing
 * connection: ours is the event loop's, and a notification to 1,000 users dirties about
 * that many pages of the inbox indexes, so nearly every such commit paid a checkpoint on
 * top (50-100 ms on 2 busy cores, most of it the fsync).
 *
 * Here the connection's automatic checkpoints are off and a worker thread with its own
 * connection checkpoints instead (PASSIVE: it never blocks the writer or readers): after
 * every write and every CHECK_EVERY_MS. The WAL restarts from its beginning at the first
 * write after a checkpoint caught up with it; while a burst of writes outruns the
 * checkpoints it grows, so once it passes WAL_FRAMES_LIMIT a write waits
 * (asynchronously, the event loop free) for the checkpoints to catch up, and the WAL
 * stays near that size. If the worker fails, the connection checkpoints by itself again.
 */
import type { Database } from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** WAL pages (4 KiB) past which writes wait for the checkpoints: 64 MiB. */
export const WAL_FRAMES_LIMIT = 16_384;
/** The WAL file is cut back to this when it restarts (PRAGMA journal_size_limit). */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Checkpoints also run this often, for writes that do not announce themselves. */
const CHECK_EVERY_MS = 250;
/** A write waits at most this long for the checkpoints, then goes anyway. */
const MAX_WAIT_MS = 5_000;
/** SQLite's own default, restored if the worker fails. */
const AUTO_CHECKPOINT_PAGES = 1000;

export interface WalCheckpointer {
  /** Call after a commit on the connection: a checkpoint follows soon. */
  written(): void;
  /** True while the WAL is past WAL_FRAMES_LIMIT and not caught up: wait (`caughtUp`) before writing. */
  readonly behind: boolean;
  /** Resolves once a checkpoint caught up with the WAL (or the worker is gone, or MAX_WAIT_MS passed). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

interface CheckpointResult {
  busy: number;
  /** Frames in the WAL; -1 when the database is not in WAL mode. */
  log: number;
  checkpointed: number;
}

const checkpointers = new WeakMap<Database, WalCheckpointer>();

export function checkpointerOf(conn: Database): WalCheckpointer | undefined {
  return checkpointers.get(conn);
}

// The worker is CommonJS evaluated from a string: it runs the same in the compiled
// gateway and under the test runner, which compiles TypeScript only in the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
let timer = null;
let stopped = false;
function run() {
  timer = null;
  if (stopped) return;
  let result;
  try {
    result = db.pragma('wal_checkpoint(PASSIVE)')[0];
  } catch (error) {
    result = { busy: 1, log: 0, checkpointed: 0, error: String(error && error.message) };
  }
  parentPort.postMessage(result);
  if (result.log < 0) return; // not a WAL database: nothing to do
  schedule(result.log > result.checkpointed ? 0 : workerData.everyMs);
}
function schedule(ms) {
  if (stopped) return;
  if (timer) {
    if (ms > 0) return;
    clearTimeout(timer);
  }
  timer = setTimeout(run, ms);
}
parentPort.on('message', (message) => {
  if (message === 'written') return schedule(0);
  if (message === 'stop') {
    stopped = true;
    if (timer) clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
schedule(0);
`;

/**
 * Starts the checkpoints for `conn` (a file database in WAL mode) and turns its automatic
 * ones off. Stopped when the connection is closed.
 */
export function startWalCheckpointer(conn: Database, filename: string): WalCheckpointer {
  conn.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  conn.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), filename, everyMs: CHECK_EVERY_MS },
  });
  worker.unref();
  let last: CheckpointResult = { busy: 0, log: 0, checkpointed: 0 };
  let gone = false;
  let waiters: (() => void)[] = [];
  const release = () => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const isBehind = () => !gone && last.log >= WAL_FRAMES_LIMIT && last.checkpointed < last.log;
  worker.on('message', (result: CheckpointResult) => {
    last = result;
    if (!isBehind()) release();
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = () => {
    if (gone) return;
    gone = true;
    release();
    try {
      conn.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    } catch {
      // the connection is closed already
    }
  };
  worker.once('error', fail);
  worker.once('exit', fail);

  const checkpointer: WalCheckpointer = {
    written() {
      if (!gone) worker.postMessage('written');
    },
    get behind() {
      return isBehind();
    },
    caughtUp() {
      if (!isBehind()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, MAX_WAIT_MS);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    async stop() {
      if (gone) return;
      gone = true;
      release();
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
  checkpointers.set(conn, checkpointer);
  // knex closes the connection (pool shutdown or eviction) through close(), and awaits
  // what it returns: the worker's connection is closed first, so the last one to close,
  // ours, checkpoints what is left and removes the WAL.
  const close = conn.close.bind(conn);
  Object.defineProperty(conn, 'close', {
    configurable: true,
    value: () => checkpointer.stop().then(() => close()),
  });
  return checkpointer;
}
