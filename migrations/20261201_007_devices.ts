/**
 * Devices.
 *
 * - `notify_messages.devices`: the devices of its one recipient a notification was sent
 *   to (JSON text, decoded in store/message-codec.ts); NULL: every device. Other devices
 *   of the user get it neither live nor on replay; it is still in the user's list.
 * - `notify_devices`: each device's last-seen time, per (tenant, user, device), written
 *   on connect and disconnect (throttled, devices/device-last-seen.ts).
 */
import type { Knex } from 'knex';

export const DEVICES_TABLE = 'notify_devices';

export async function up(knex: Knex): Promise<void> {
  const isMysql = /mysql/.test(String(knex.client.config.client));
  await knex.schema.alterTable('notify_messages', (t) => {
    t.text('devices');
  });
  await knex.schema.createTable(DEVICES_TABLE, (t) => {
    if (isMysql) {
      t.charset('utf8mb4');
      t.collate('utf8mb4_bin');
    }
    t.string('tenant_id', 64).notNullable();
    t.string('user_id', 128).notNullable();
    t.string('device_id', 128).notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.primary(['tenant_id', 'user_id', 'device_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(DEVICES_TABLE);
  await knex.schema.alterTable('notify_messages', (t) => {
    t.dropColumn('devices');
  });
}
