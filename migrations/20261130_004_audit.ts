/**
 * The audit log (`notify_audit`): who changed what. One row per administrative change
 * (channels, recipients, delivery retries) and per notification of an audited kind.
 * - `actor`: `key:<key id>` (a short hash of the API key, never the key) or `user:<id>`.
 * - `action`: `channel.put`, `recipient.delete`, `delivery.retry`, `notify`, …
 * - `target`: the channel name, user id, delivery id or message id.
 * - `details`: small JSON, never secrets or addresses.
 * Ids are UUIDv7 (time-ordered): listing newest first is `ORDER BY id DESC`.
 */
import type { Knex } from 'knex';

export const AUDIT_TABLE = 'notify_audit';

export async function up(knex: Knex): Promise<void> {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  await knex.schema.createTable(AUDIT_TABLE, (t) => {
    if (isMysql) {
      t.charset('utf8mb4');
      t.collate('utf8mb4_bin');
    }
    t.string('id', 36).primary();
    t.string('tenant_id', 64).notNullable();
    t.string('actor', 160).notNullable();
    t.string('action', 32).notNullable();
    t.string('target', 191).notNullable();
    t.text('details');
    t.bigInteger('created_at').notNullable();
    t.index(['tenant_id', 'id'], 'notify_audit_tenant');
    t.index(['tenant_id', 'action', 'id'], 'notify_audit_tenant_action');
    t.index(['created_at'], 'notify_audit_created');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(AUDIT_TABLE);
}
