/**
 * Policies and notification-center states.
 *
 * - `notify_preferences`: a preference document (JSON text, policy/preferences.ts) per
 *   user, and per tenant as its default (`user_id` = '', never a user id: ids are non-empty).
 * - `notify_kinds`: a tenant's defaults for one kind (critical, default channels, digest
 *   window, external payload mode).
 * - `notify_inbox`: `seen_at` (the badge was opened), `archived_at`, and `muted` (the user
 *   opted out of in-app for the kind when it was written: stored, not pushed, not listed
 *   by default, not counted).
 * - `notify_deliveries`: digests. A digest is itself a delivery row (`digest_key` set,
 *   `target` = 'digest'), pending until its window ends; the deliveries it summarises are
 *   `suppressed` rows pointing at it (`digest_id`). `digest_count` counts them.
 *   `digest_open` is 1 while the window takes members and NULL once it is claimed for
 *   sending: the unique key over (tenant, channel, recipient, key, open) lets only one
 *   window be open at a time, so concurrent first events cannot open two (NULLs never
 *   collide in a unique index, on MySQL and SQLite alike).
 */
import type { Knex } from 'knex';

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
  await knex.schema.createTable('notify_preferences', (t) => {
    binary(t);
    t.string('tenant_id', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.text('document').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['tenant_id', 'user_id']);
  });

  await knex.schema.createTable('notify_kinds', (t) => {
    binary(t);
    t.string('tenant_id', 64).notNullable();
    t.string('kind', 64).notNullable();
    t.text('document').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['tenant_id', 'kind']);
  });

  await knex.schema.alterTable('notify_inbox', (t) => {
    t.bigInteger('seen_at');
    t.bigInteger('archived_at');
    t.boolean('muted').notNullable().defaultTo(false);
  });

  await knex.schema.alterTable('notify_deliveries', (t) => {
    t.string('digest_key', 128);
    t.string('digest_id', 36);
    t.integer('digest_count').notNullable().defaultTo(0);
    t.integer('digest_open');
    t.unique(['tenant_id', 'channel', 'recipient', 'digest_key', 'digest_open'], { indexName: 'notify_deliveries_digest_window' });
    t.index(['digest_id'], 'notify_deliveries_digest_members');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notify_deliveries', (t) => {
    t.dropIndex([], 'notify_deliveries_digest_members');
    t.dropUnique([], 'notify_deliveries_digest_window');
    t.dropColumn('digest_open');
    t.dropColumn('digest_count');
    t.dropColumn('digest_id');
    t.dropColumn('digest_key');
  });
  await knex.schema.alterTable('notify_inbox', (t) => {
    t.dropColumn('muted');
    t.dropColumn('archived_at');
    t.dropColumn('seen_at');
  });
  await knex.schema.dropTableIfExists('notify_kinds');
  await knex.schema.dropTableIfExists('notify_preferences');
}
