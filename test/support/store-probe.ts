/**
 * Reads the store directly, beside the HTTP/Socket.IO surface under test: row counts
 * that prove "nothing was written" (poll state no event announces with ./until.ts).
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
