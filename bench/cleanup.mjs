/**
 * Teardown that runs however the bench ends: normal finish, thrown error, Ctrl-C or
 * SIGTERM. Tasks run newest first (clients before gateways before the database), each
 * once. Child processes still alive at `exit` are SIGKILLed synchronously as a last resort.
 */
const tasks = [];
const children = new Set();

/** Registers an async teardown step; returns a function that runs it now (and only once). */
export function onCleanup(task) {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    const index = tasks.indexOf(run);
    if (index >= 0) tasks.splice(index, 1);
    await task();
  };
  tasks.push(run);
  return run;
}

export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export async function runCleanup() {
  while (tasks.length > 0) {
    const task = tasks[tasks.length - 1];
    try {
      await task();
    } catch (error) {
      process.stderr.write(`bench cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
    void runCleanup().finally(() => process.exit(130));
  });
}

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
