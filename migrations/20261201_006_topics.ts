/**
 * Topics: durable topic messages are stored once, with no inbox rows.
 *
 * - `notify_messages.topics`: the topics a message of scope "topic" went to (JSON text,
 *   decoded in store/message-codec.ts); NULL for every other scope.
 * - `notify_topic_messages`: one row per (message, topic), carrying the message's
 *   position, so that a resuming client's replay reads the topics it holds by
 *   (tenant, topic, seq) and merges them with its own stream in commit order.
 */
import type { Knex } from 'knex';

export const TOPIC_MESSAGES_TABLE = 'notify_topic_messages';

export async function up(knex: Knex): Promise<void> {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  await knex.schema.alterTable('notify_messages', (t) => {
    t.text('topics');
  });
  await knex.schema.createTable(TOPIC_MESSAGES_TABLE, (t) => {
    if (isMysql) {
      t.charset('utf8mb4');
      t.collate('utf8mb4_bin');
    }
    t.string('tenant_id', 64).notNullable();
    t.string('topic', 128).notNullable();
    t.bigInteger('seq').notNullable();
    t.string('message_id', 36).notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['tenant_id', 'topic', 'seq']);
    t.index(['message_id'], 'notify_topic_messages_message');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TOPIC_MESSAGES_TABLE);
  await knex.schema.alterTable('notify_messages', (t) => {
    t.dropColumn('topics');
  });
}
