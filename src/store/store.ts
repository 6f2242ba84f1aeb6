/** Picks the driver from DATABASE_URL and runs the migrations; one knex for the process. */
import knexFactory, { type Knex } from 'knex';
import type { StoreDialect, WriteStatement } from './dialect.js';
import { AuditRepository } from './audit-repository.js';
import { ChannelRepository } from './channel-repository.js';
import { DeliveryRepository } from './delivery-repository.js';
import { InboxRepository } from './inbox-repository.js';
import { MessageRepository } from './message-repository.js';
import { migrationSource } from './migration-source.js';
import { PushSubscriptionRepository } from './push-subscription-repository.js';
import { PreferenceRepository } from './preference-repository.js';
import { RecipientRepository } from './recipient-repository.js';
import { ReplayRepository } from './replay-repository.js';
import { StreamRepository } from './stream-repository.js';
import { UnackedRepository } from './unacked-repository.js';
import { DeviceRepository } from './device-repository.js';
import { SegmentRepository } from './segment-repository.js';
import { StreamLayoutRepository } from './stream-layout-repository.js';
import { mysqlDialect } from './mysql-dialect.js';
import { sqliteDialect } from './sqlite-dialect.js';

/** Runs prepared notification writes (outbox/prepared-inserts.ts) on this store's database. */
export interface StoreWrites {
  /** One write as one transaction: StoreDialect.runWrite on this store (see there for the statements and `beforeCommit`). */
  run(statements: readonly WriteStatement[], beforeCommit?: () => Promise<void>): Promise<void>;
}

export interface Store {
  /**
   * The raw knex handle, for the repositories in src/store and for tests. Code outside
   * src/store must not use it: SQL lives only in store/ repositories (add a method to
   * one instead of building a query elsewhere).
   */
  readonly db: Knex;
  readonly dialect: StoreDialect;
  /** The database (MySQL schema) name, or the SQLite file: identifies this store's data set. */
  readonly identity: string;
  readonly stream: StreamRepository;
  /** How many partitions the stream has, and moving it to another count (stream/stream-layout.ts). */
  readonly streamLayout: StreamLayoutRepository;
  /** The notification center: history, unread count, read state, socket acks. */
  readonly inbox: InboxRepository;
  /** A user's commit-ordered stream, as replay reads it. */
  readonly replay: ReplayRepository;
  /** What a connection without a resume position is sent: the user's unacked rows. */
  readonly unacked: UnackedRepository;
  /** Devices' last-seen times. */
  readonly devices: DeviceRepository;
  /** Lookups on stored notifications (dedupe keys). */
  readonly messages: MessageRepository;
  readonly writes: StoreWrites;
  readonly deliveries: DeliveryRepository;
  readonly channels: ChannelRepository;
  readonly recipients: RecipientRepository;
  /** Users' preference documents, tenant defaults and kind defaults (read through policy/policy-cache.ts). */
  readonly preferences: PreferenceRepository;
  readonly pushSubscriptions: PushSubscriptionRepository;
  readonly audit: AuditRepository;
  /** Segments: named member lists of a tenant, expanded at delivery. */
  readonly segments: SegmentRepository;
  ping(): Promise<void>;
  migrate(): Promise<void>;
  /** Runs `fn` while no other process migrates this database (the lock `migrate` takes). */
  exclusively<T>(fn: () => Promise<T>): Promise<T>;
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
    streamLayout: new StreamLayoutRepository(db, dialect.name === 'mysql'),
    inbox: new InboxRepository(db),
    replay: new ReplayRepository(db),
    unacked: new UnackedRepository(db),
    devices: new DeviceRepository(db),
    messages: new MessageRepository(db),
    writes: {
      run: (statements, beforeCommit) => dialect.runWrite(db, statements, beforeCommit),
    },
    deliveries: new DeliveryRepository(db, dialect.name === 'mysql'),
    channels: new ChannelRepository(db),
    recipients: new RecipientRepository(db),
    preferences: new PreferenceRepository(db),
    pushSubscriptions: new PushSubscriptionRepository(db),
    audit: new AuditRepository(db),
    segments: new SegmentRepository(db),
    async ping() {
      await db.raw('select 1');
    },
    async migrate() {
      await dialect.withMigrationLock(url, () => db.migrate.latest({ migrationSource }));
    },
    exclusively(fn) {
      return dialect.withMigrationLock(url, fn);
    },
    async close() {
      await db.destroy();
    },
  };
}
