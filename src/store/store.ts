/** Picks the driver from DATABASE_URL and runs the migrations; one knex for the process. */
import knexFactory, { type Knex } from 'knex';
import type { StoreDialect } from './dialect.js';
import { ChannelRepository } from './channel-repository.js';
import { DeliveryRepository } from './delivery-repository.js';
import { migrationSource } from './migration-source.js';
import { PushSubscriptionRepository } from './push-subscription-repository.js';
import { RecipientRepository } from './recipient-repository.js';
import { StreamRepository } from './stream-repository.js';
import { mysqlDialect } from './mysql-dialect.js';
import { sqliteDialect } from './sqlite-dialect.js';

export interface Store {
  readonly db: Knex;
  readonly dialect: StoreDialect;
  /** The database (MySQL schema) name, or the SQLite file: identifies this store's data set. */
  readonly identity: string;
  readonly stream: StreamRepository;
  readonly deliveries: DeliveryRepository;
  readonly channels: ChannelRepository;
  readonly recipients: RecipientRepository;
  readonly pushSubscriptions: PushSubscriptionRepository;
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export function dialectFor(url: string): StoreDialect {
  return url.startsWith('mysql://') ? mysqlDialect : sqliteDialect;
}

export function createStore(url: string, options: { poolMax: number; acquireTimeoutMs: number }): Store {
  const dialect = dialectFor(url);
  const db = knexFactory(dialect.knexConfig(url, options));
  const identity = dialect.name === 'mysql' ? decodeURIComponent(new URL(url).pathname.slice(1)) : url;
  return {
    db,
    dialect,
    identity,
    stream: new StreamRepository(db),
    deliveries: new DeliveryRepository(db, dialect.name === 'mysql'),
    channels: new ChannelRepository(db),
    recipients: new RecipientRepository(db),
    pushSubscriptions: new PushSubscriptionRepository(db),
    async ping() {
      await db.raw('select 1');
    },
    async migrate() {
      await dialect.withMigrationLock(url, () => db.migrate.latest({ migrationSource }));
    },
    async close() {
      await db.destroy();
    },
  };
}
