/** Picks the driver from DATABASE_URL and runs the migrations; one knex for the process. */
import knexFactory, { type Knex } from 'knex';
import type { StoreDialect } from './dialect.js';
import { migrationSource } from './migration-source.js';
import { mysqlDialect } from './mysql-dialect.js';
import { sqliteDialect } from './sqlite-dialect.js';

export interface Store {
  readonly db: Knex;
  readonly dialect: StoreDialect;
  /** The database (MySQL schema) name, or the SQLite file: identifies this store's data set. */
  readonly identity: string;
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
    async ping() {
      await db.raw('select 1');
    },
    async migrate() {
      await migrateWithRetry(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Several instances may start at once (pm2, compose). knex refuses a second concurrent
 * migration ("already locked") and two instances may race to create its lock table;
 * the losers wait and retry, and find nothing left to do.
 */
async function migrateWithRetry(db: Knex, attempts = 40): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Nothing pending (the usual restart): skip knex's lock, which would make
      // instances starting together queue behind each other.
      const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
      if (pending.length === 0) return;
      await db.migrate.latest({ migrationSource });
      return;
    } catch (error) {
      const message = error instanceof Error ? `${error.name} ${error.message}` : String(error);
      const contended = /MigrationLocked|already locked|already exists|Duplicate entry|ER_TABLE_EXISTS/i.test(message);
      if (!contended || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 250));
    }
  }
}
