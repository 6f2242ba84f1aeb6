/**
 * Positions are taken when a notification is written, not when the relay first sees it.
 *
 * `notify_sequence` holds one row, the last position handed out. A writer bumps it as the
 * first statement of its transaction; the row lock is held until COMMIT, so transactions
 * that take positions commit one after the other, in position order. That is the
 * commit-order invariant (README "Guarantees"), now kept by the writer; the relay only reads
 * `notify_outbox` in `seq` order and never writes a position (which had cost three
 * UPDATEs and a commit per relay batch).
 *
 * Rows written before this migration that the relay had not sequenced yet get their
 * positions here, in outbox order, as the old relay would have given them.
 */
import type { Knex } from 'knex';

export const SEQUENCE_TABLE = 'notify_sequence';
export const SEQUENCE_NAME = 'notify';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(SEQUENCE_TABLE, (t) => {
    t.string('name', 32).primary();
    t.bigInteger('last_seq').notNullable();
  });
  const top = (await knex('notify_messages').max({ top: 'seq' }).first()) as { top: number | string | null } | undefined;
  let last = Number(top?.top ?? 0);
  const pending: { message_id: string }[] = await knex('notify_outbox').whereNull('seq').orderBy('id').select('message_id');
  for (const { message_id } of pending) {
    last += 1;
    await knex('notify_messages').where({ id: message_id }).update({ seq: last });
    await knex('notify_inbox').where({ message_id }).update({ seq: last });
    await knex('notify_outbox').where({ message_id }).update({ seq: last });
  }
  await knex(SEQUENCE_TABLE).insert({ name: SEQUENCE_NAME, last_seq: last });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(SEQUENCE_TABLE);
}
