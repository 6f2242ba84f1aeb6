/**
 * One stream, many consumers; external deliveries.
 *
 * - `notify_consumers`: one durable cursor (the last position handled) per consumer of the
 *   committed stream: `realtime` (emits to sockets) and `deliveries` (plans external
 *   deliveries). Outbox rows are pruned once every consumer has passed them. Both start
 *   where the relay stood: before the oldest outbox row still waiting, else at the last
 *   position handed out.
 * - `notify_messages.delivery`: the external part of a notification (channels, link,
 *   mentions, external payload mode) as JSON; NULL for in-app only.
 * - `notify_channels` (per tenant, by name), `notify_recipients` (a user's addresses),
 *   `notify_push_subscriptions` (browser push, per user and device).
 * - `notify_deliveries`: the durable queue, one row per (message, channel, recipient,
 *   target), unique, so planning twice can never queue twice.
 */
import type { Knex } from 'knex';
import { SEQUENCE_NAME, SEQUENCE_TABLE } from './20261122_002_write_time_seq.js';

export const CONSUMERS_TABLE = 'notify_consumers';

function binaryCollation(knex: Knex) {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  return (t: Knex.CreateTableBuilder): void => {
    if (!isMysql) return;
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
  };
}

export async function up(knex: Knex): Promise<void> {
  const binary = binaryCollation(knex);
  await knex.schema.alterTable('notify_messages', (t) => {
    t.text('delivery', 'mediumtext');
  });

  await knex.schema.createTable(CONSUMERS_TABLE, (t) => {
    binary(t);
    t.string('name', 32).primary();
    t.bigInteger('position').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  const oldest = (await knex('notify_outbox').whereNotNull('seq').min({ oldest: 'seq' }).first()) as { oldest: number | string | null } | undefined;
  const sequence = (await knex(SEQUENCE_TABLE).where({ name: SEQUENCE_NAME }).first('last_seq')) as { last_seq: number | string } | undefined;
  const start = oldest?.oldest != null ? Number(oldest.oldest) - 1 : Number(sequence?.last_seq ?? 0);
  const now = Date.now();
  await knex(CONSUMERS_TABLE).insert([
    { name: 'realtime', position: start, updated_at: now },
    { name: 'deliveries', position: start, updated_at: now },
  ]);

  await knex.schema.createTable('notify_channels', (t) => {
    binary(t);
    t.string('tenant_id', 64).notNullable();
    t.string('name', 64).notNullable();
    t.string('type', 16).notNullable();
    t.text('config').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['tenant_id', 'name']);
  });

  await knex.schema.createTable('notify_recipients', (t) => {
    binary(t);
    t.string('tenant_id', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.string('email', 254);
    t.string('mobile', 32);
    t.string('wecom_user_id', 64);
    t.string('locale', 35);
    t.string('timezone', 64);
    t.bigInteger('updated_at').notNullable();
    t.primary(['tenant_id', 'user_id']);
  });

  await knex.schema.createTable('notify_push_subscriptions', (t) => {
    binary(t);
    t.string('id', 36).primary();
    t.string('tenant_id', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.string('device_id', 128);
    t.text('endpoint').notNullable();
    // SHA-256 of the endpoint: a browser re-registering the same endpoint updates its row.
    t.string('endpoint_hash', 64).notNullable().unique('notify_push_endpoint_unique');
    t.string('p256dh', 128).notNullable();
    t.string('auth', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['tenant_id', 'user_id'], 'notify_push_user');
  });

  await knex.schema.createTable('notify_deliveries', (t) => {
    binary(t);
    t.string('id', 36).primary();
    t.string('tenant_id', 64).notNullable();
    t.string('message_id', 36).notNullable();
    t.string('channel', 64).notNullable();
    t.string('channel_type', 16).notNullable();
    // The user for email and webpush; '' for endpoint channels (webhook, wecom).
    t.string('recipient', 128).notNullable();
    // The push subscription id for webpush; '' otherwise.
    t.string('target', 36).notNullable();
    t.string('status', 12).notNullable();
    t.integer('attempts').notNullable();
    t.integer('max_attempts').notNullable();
    t.bigInteger('available_at').notNullable();
    t.bigInteger('locked_at');
    t.string('locked_by', 64);
    t.string('last_error', 1024);
    t.string('reason', 64);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('sent_at');
    t.unique(['message_id', 'channel', 'recipient', 'target'], { indexName: 'notify_deliveries_once' });
    t.index(['status', 'available_at'], 'notify_deliveries_due');
    t.index(['tenant_id', 'id'], 'notify_deliveries_tenant');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['notify_deliveries', 'notify_push_subscriptions', 'notify_recipients', 'notify_channels', CONSUMERS_TABLE]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('notify_messages', (t) => t.dropColumn('delivery'));
}
