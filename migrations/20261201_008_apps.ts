/**
 * Apps (apps/app-scope.ts): an app's tenant is stored as `<appId>~<tenantId>`, up to
 * 32 + 1 + 64 characters, so every `tenant_id` column grows from 64 to 128 characters.
 * Rows of the default app keep their keys: nothing is rewritten.
 *
 * MySQL only: SQLite does not enforce VARCHAR lengths. Each column keeps the character
 * set and collation it has (read from information_schema), so its comparisons and
 * indexes do not change meaning.
 */
import type { Knex } from 'knex';

const TENANT_TABLES = [
  'notify_messages',
  'notify_inbox',
  'notify_channels',
  'notify_recipients',
  'notify_push_subscriptions',
  'notify_deliveries',
  'notify_audit',
  'notify_preferences',
  'notify_kinds',
  'notify_topic_messages',
  'notify_devices',
];

export async function up(knex: Knex): Promise<void> {
  if (!/mysql/.test(String(knex.client.config.client))) return;
  for (const table of TENANT_TABLES) {
    const [rows] = (await knex.raw(
      `SELECT CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'tenant_id'`,
      [table],
    )) as [{ charset: string; collation: string }[]];
    const column = rows[0];
    if (!column) continue;
    await knex.raw(`ALTER TABLE ?? MODIFY tenant_id VARCHAR(128) CHARACTER SET ${column.charset} COLLATE ${column.collation} NOT NULL`, [table]);
  }
}

export async function down(): Promise<void> {
  // Shrinking would cut the keys of every app but the default one.
}
