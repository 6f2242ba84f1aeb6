/**
 * Segments: named lists of users a back end manages (`PUT /api/segments/:name`), a
 * notification target expanded when it is delivered, not when it is written.
 *
 * - `notify_segments`: one row per (tenant, segment) with its member count and when its
 *   membership last changed. A membership change locks this row first, so changes of
 *   one segment never interleave (store/segment-repository.ts).
 * - `notify_segment_members`: who is in it; (tenant, user) indexed for "the segments of
 *   this user" (replay and the notification center read it that way).
 * - `notify_messages.segments`: the segments a message of scope "segment" went to (JSON
 *   text, decoded in store/message-codec.ts); NULL for every other scope.
 * - `notify_segment_messages`: one row per (message, segment) carrying the message's
 *   position, as notify_topic_messages does for topics: replay reads the segments the
 *   user is a member of by (tenant, segment, seq). No inbox rows are written.
 */
import type { Knex } from 'knex';

export const SEGMENTS_TABLE = 'notify_segments';
export const SEGMENT_MEMBERS_TABLE = 'notify_segment_members';
export const SEGMENT_MESSAGES_TABLE = 'notify_segment_messages';

export async function up(knex: Knex): Promise<void> {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  const binary = (t: Knex.CreateTableBuilder) => {
    if (!isMysql) return;
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
  };
  await knex.schema.alterTable('notify_messages', (t) => {
    t.text('segments');
  });
  await knex.schema.createTable(SEGMENTS_TABLE, (t) => {
    binary(t);
    t.string('tenant_id', 128).notNullable();
    t.string('segment', 64).notNullable();
    t.integer('member_count').notNullable().defaultTo(0);
    t.bigInteger('updated_at').notNullable();
    t.primary(['tenant_id', 'segment']);
  });
  await knex.schema.createTable(SEGMENT_MEMBERS_TABLE, (t) => {
    binary(t);
    t.string('tenant_id', 128).notNullable();
    t.string('segment', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.primary(['tenant_id', 'segment', 'user_id']);
    t.index(['tenant_id', 'user_id'], 'notify_segment_members_user');
  });
  await knex.schema.createTable(SEGMENT_MESSAGES_TABLE, (t) => {
    binary(t);
    t.string('tenant_id', 128).notNullable();
    t.string('segment', 64).notNullable();
    t.bigInteger('seq').notNullable();
    t.string('message_id', 36).notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['tenant_id', 'segment', 'seq']);
    t.index(['message_id'], 'notify_segment_messages_message');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(SEGMENT_MESSAGES_TABLE);
  await knex.schema.dropTableIfExists(SEGMENT_MEMBERS_TABLE);
  await knex.schema.dropTableIfExists(SEGMENTS_TABLE);
  await knex.schema.alterTable('notify_messages', (t) => {
    t.dropColumn('segments');
  });
}
