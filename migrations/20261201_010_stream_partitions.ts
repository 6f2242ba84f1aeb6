/**
 * The stream in partitions (src/stream/stream-partitions.ts).
 *
 * - `notify_outbox.part`: the partition whose consumers read the row; (part, seq) is how
 *   they read. Every existing row is partition 0, the one partition there was.
 * - `notify_sequence.partitions`: the layout each sequence row belongs to. A writer
 *   reserves with `WHERE name = ? AND partitions = ?`, so a writer that still holds an
 *   older layout changes no row and its write fails whole (the reserve's guard) instead
 *   of handing out a position of another partition.
 *
 * Nothing is renamed here: one partition keeps the row `notify` and the consumers
 * `realtime` and `deliveries`. Moving to more partitions is done at start-up, when
 * STREAM_PARTITIONS asks for it (store/stream-layout-repository.ts).
 */
import type { Knex } from 'knex';
import { SEQUENCE_TABLE } from './20261122_002_write_time_seq.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notify_outbox', (t) => {
    t.integer('part').notNullable().defaultTo(0);
    t.index(['part', 'seq'], 'notify_outbox_part_seq');
  });
  await knex.schema.alterTable(SEQUENCE_TABLE, (t) => {
    t.integer('partitions').notNullable().defaultTo(1);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notify_outbox', (t) => {
    t.dropIndex(['part', 'seq'], 'notify_outbox_part_seq');
    t.dropColumn('part');
  });
  await knex.schema.alterTable(SEQUENCE_TABLE, (t) => {
    t.dropColumn('partitions');
  });
}
