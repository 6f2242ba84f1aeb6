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
 * connection checkpoints instead, after every write and every CHECK_EVERY_MS. PASSIVE:
 * it never blocks the writer or readers (the stronger modes hold new writers back, and
 * our writer would wait in SQLite's busy handler, on the event loop).
 *
 * The WAL starts over from its beginning only at a write that finds it wholly copied
 * while no checkpoint runs; under a steady stream of writes the worker is nearly always
 * running one, and the WAL grew without end (4 GB for one 500 × 1,000 batch). So once it
 * holds WAL_FRAMES_LIMIT pages the next write first asks the worker to pause after one
 * last catching-up checkpoint (`hold`, awaited: the event loop stays free), writes
 * (restarting the WAL), and lets it go on (`resume`). The file keeps its size (about
 * the limit plus one write) and is written over from its start; it is removed when the
 * store closes. If the worker fails, the connection checkpoints by itself again.
 */
import type { Database } from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** WAL pages (4 KiB) from which the next write restarts the WAL: 64 MiB. */
export const WAL_FRAMES_LIMIT = 16_384;
/** Checkpoints also run this often, for writes that do not announce themselves. */
const CHECK_EVERY_MS = 250;
/** A write waits at most this long for the catching-up checkpoint, then goes anyway. */
const MAX_WAIT_MS = 5_000;
/** SQLite's own default, restored if the worker fails. */
const AUTO_CHECKPOINT_PAGES = 1000;

export interface WalCheckpointer {
  /** Call after a commit on the connection: a checkpoint follows soon. */
  written(): void;
  /** True once the WAL holds WAL_FRAMES_LIMIT pages: the next write should `hold` first. */
  readonly full: boolean;
  /**
   * Pauses the checkpoints after one that catches up with the WAL (at most MAX_WAIT_MS);
   * resolves with the function that lets them go on, to call after the write.
   */
  hold(): Promise<() => void>;
  stop(): Promise<void>;
}

interface CheckpointResult {
  /** A report after a checkpoint, or the answer to `hold`. */
  kind: 'report' | 'held';
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
let held = false;
let stopped = false;
function checkpoint() {
  try {
    return db.pragma('wal_checkpoint(PASSIVE)')[0];
  } catch (error) {
    return { busy: 1, log: 0, checkpointed: 0 };
  }
}
function run() {
  timer = null;
  if (stopped || held) return;
  const result = checkpoint();
  parentPort.postMessage({ kind: 'report', ...result });
  if (result.log < 0) return; // not a WAL database: nothing to do
  schedule(result.log > result.checkpointed ? 0 : workerData.everyMs);
}
function schedule(ms) {
  if (stopped || held) return;
  if (timer) {
    if (ms > 0) return;
    clearTimeout(timer);
  }
  timer = setTimeout(run, ms);
}
parentPort.on('message', (message) => {
  if (message === 'written') return schedule(0);
  if (message === 'hold') {
    held = true;
    if (timer) clearTimeout(timer);
    timer = null;
    return parentPort.postMessage({ kind: 'held', ...checkpoint() });
  }
  if (message === 'resume') {
    held = false;
    return schedule(0);
  }
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
  conn.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), filename, everyMs: CHECK_EVERY_MS },
  });
  worker.unref();
  let frames = 0;
  let gone = false;
  let onHeld: (() => void) | null = null;
  worker.on('message', (result: CheckpointResult) => {
    frames = result.log;
    if (result.kind === 'held') onHeld?.();
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = () => {
    if (gone) return;
    gone = true;
    onHeld?.();
    try {
      conn.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    } catch {
      // the connection is closed already
    }
  };
  worker.once('error', fail);
  worker.once('exit', fail);
  const post = (message: string) => {
    if (!gone) worker.postMessage(message);
  };

  const checkpointer: WalCheckpointer = {
    written: () => post('written'),
    get full() {
      return !gone && onHeld === null && frames >= WAL_FRAMES_LIMIT;
    },
    async hold() {
      if (gone) return () => undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, MAX_WAIT_MS);
        function done() {
          clearTimeout(timer);
          onHeld = null;
          resolve();
        }
        onHeld = done;
        post('hold');
      });
      let resumed = false;
      return () => {
        if (resumed) return;
        resumed = true;
        frames = 0; // the write just made restarted the WAL; the next report says so
        post('resume');
      };
    },
    async stop() {
      if (gone) return;
      gone = true;
      onHeld?.();
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
