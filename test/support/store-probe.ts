/**
 * Reads the store directly, beside the HTTP/Socket.IO surface under test: row counts
 * that prove "nothing was written", and a bounded poll for state that no event announces
 * (an UPDATE run by a socket handler that sends no reply).
 */
import type { Knex } from 'knex';

export interface RowCounts {
  messages: number;
  inbox: number;
  outbox: number;
}

export async function countRows(db: Knex): Promise<RowCounts> {
  const count = async (table: string) => {
    const row = await db(table).count<{ n: number | string }[]>({ n: '*' });
    return Number(row[0]?.n ?? 0);
  };
  return { messages: await count('notify_messages'), inbox: await count('notify_inbox'), outbox: await count('notify_outbox') };
}

/** Polls `check` every `intervalMs` until it is true; fails with `what` after `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
