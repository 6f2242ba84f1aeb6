/**
 * Migrations are listed here explicitly (not discovered on disk) so that the same list
 * runs from TypeScript in tests and from compiled JavaScript in production.
 */
import type { Knex } from 'knex';
import * as core from '../../migrations/20261122_001_core.js';
import * as writeTimeSeq from '../../migrations/20261122_002_write_time_seq.js';
import * as consumersAndDeliveries from '../../migrations/20261130_003_consumers_and_deliveries.js';
import * as audit from '../../migrations/20261130_004_audit.js';
import * as policies from '../../migrations/20261201_005_policies.js';
import * as topics from '../../migrations/20261201_006_topics.js';
import * as devices from '../../migrations/20261201_007_devices.js';
import * as apps from '../../migrations/20261201_008_apps.js';
import * as segments from '../../migrations/20261201_009_segments.js';
import * as streamPartitions from '../../migrations/20261201_010_stream_partitions.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const migrations: Record<string, Migration> = {
  '20261122_001_core': core,
  '20261122_002_write_time_seq': writeTimeSeq,
  '20261130_003_consumers_and_deliveries': consumersAndDeliveries,
  '20261130_004_audit': audit,
  '20261201_005_policies': policies,
  '20261201_006_topics': topics,
  '20261201_007_devices': devices,
  '20261201_008_apps': apps,
  '20261201_009_segments': segments,
  '20261201_010_stream_partitions': streamPartitions,
};

export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return Object.keys(migrations);
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
