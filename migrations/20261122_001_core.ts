/**
 * Core tables. Portable across MariaDB 10.11, MySQL 8 and SQLite:
 * - ids are app-generated UUIDv7 strings (knex drops .returning() on mysql2);
 * - timestamps are epoch milliseconds in BIGINT (no driver date conversion);
 * - JSON is stored as text and (de)serialised in one place (store/message-codec.ts);
 * - MySQL tables use utf8mb4_bin so ids compare exactly ("Alice" ≠ "alice").
 */
import type { Knex } from 'knex';

function binaryCollation(knex: Knex) {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  return (t: Knex.CreateTableBuilder): void => {
    if (!isMysql) return; // SQLite compares text bytewise already
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
  };
}

export async function up(knex: Knex): Promise<void> {
  const binary = binaryCollation(knex);
  await knex.schema.createTable('notify_messages', (t) => {
    binary(t);
    t.string('id', 36).primary();
    t.string('tenant_id', 64).notNullable();
    t.string('kind', 64).notNullable();
    t.string('scope', 8).notNullable();
    t.string('title', 1024).notNullable();
    t.text('body', 'mediumtext');
    t.text('data', 'mediumtext');
    t.string('priority', 8).notNullable();
    t.string('dedupe_key', 191);
    // Commit-ordered position, assigned by the single active relay before it emits.
    t.bigInteger('seq').unique('notify_messages_seq_unique');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at');
    t.unique(['tenant_id', 'dedupe_key'], { indexName: 'notify_messages_dedupe_unique' });
    t.index(['tenant_id', 'scope', 'seq'], 'notify_messages_tenant_stream');
    t.index(['created_at'], 'notify_messages_created');
  });

  await knex.schema.createTable('notify_inbox', (t) => {
    binary(t);
    t.string('tenant_id', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.string('message_id', 36).notNullable();
    t.bigInteger('seq');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('acked_at');
    t.bigInteger('read_at');
    t.primary(['tenant_id', 'user_id', 'message_id']);
    t.index(['tenant_id', 'user_id', 'seq'], 'notify_inbox_user_stream');
    t.index(['message_id'], 'notify_inbox_message');
  });

  await knex.schema.createTable('notify_outbox', (t) => {
    binary(t);
    t.bigIncrements('id');
    t.string('message_id', 36).notNullable().unique('notify_outbox_message_unique');
    // Set with the message's seq in the same relay transaction; non-null = emit pending.
    t.bigInteger('seq');
    t.bigInteger('created_at').notNullable();
    t.index(['seq'], 'notify_outbox_seq');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('notify_outbox');
  await knex.schema.dropTableIfExists('notify_inbox');
  await knex.schema.dropTableIfExists('notify_messages');
}
