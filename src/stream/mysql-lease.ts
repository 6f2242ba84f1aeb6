/**
 * Consumer leadership (one leader per consumer of the stream) on MySQL/MariaDB with GET_LOCK on a dedicated connection, outside
 * the knex pool. The server frees a named lock when its connection closes, so a holder
 * that is killed (or whose connection is cut) loses the lease immediately and a
 * follower's next tryAcquire wins. The lock name includes the database name, so
 * gateways on different databases of one server never contend.
 *
 * A holder that lost its lock mid-batch may still finish emitting that batch while the
 * new holder emits it too: the same rows, in the same order, twice. Clients drop
 * duplicates by id; positions are never touched by the relay, so nothing can conflict.
 */
import mysql from 'mysql2/promise';
import type { Logger } from '../logger.js';
import type { ConsumerLease } from './consumer-lease.js';

/**
 * The server-side lock of a consumer's lease. MySQL lock names are limited to 64
 * characters. The realtime consumer of partition 0 keeps the relay's old name, so
 * instances of the previous version contend for the same lock during a rolling upgrade
 * instead of relaying side by side.
 */
export function leaseLockName(consumer: string, database: string): string {
  const prefix = consumer === 'realtime' ? 'notify_relay' : `notify_${consumer}`;
  return `${prefix}:${database}`.slice(0, 64);
}

/** Which of `consumers`' leases some connection holds now (a running instance leads them). */
export async function leasesInUse(url: string, database: string, consumers: readonly string[]): Promise<string[]> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  try {
    const held: string[] = [];
    for (const consumer of consumers) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [leaseLockName(consumer, database)]);
      if (rows[0]?.holder != null) held.push(consumer);
    }
    return held;
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

export class MysqlLease implements ConsumerLease {
  private conn: mysql.Connection | null = null;
  private held = false;
  private readonly lockName: string;
  private readonly lostListeners = new Set<() => void>();
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    database: string,
    private readonly logger: Logger,
    /** The consumer this lease is for: one leader per consumer. */
    consumer = 'realtime',
    private readonly keepAliveMs = 2000,
  ) {
    this.lockName = leaseLockName(consumer, database);
  }

  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    try {
      const conn = this.conn ?? (await this.connect());
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [this.lockName]);
      this.held = rows[0]?.got === 1;
      if (this.held) this.startKeepAlive(conn);
      return this.held;
    } catch (error) {
      this.logger.warn({ err: error, consumer: this.lockName }, 'consumer lease: acquire failed');
      this.dropConnection();
      return false;
    }
  }

  isHeld(): boolean {
    return this.held;
  }

  onLost(listener: () => void): void {
    this.lostListeners.add(listener);
  }

  /** Test and ops seam: the server-side id of the lock connection (KILL it to force failover). */
  connectionId(): number | null {
    return this.conn?.threadId ?? null;
  }

  async release(): Promise<void> {
    const conn = this.conn;
    this.stopKeepAlive();
    this.held = false;
    this.conn = null;
    if (!conn) return;
    try {
      await conn.query('SELECT RELEASE_LOCK(?)', [this.lockName]);
      await conn.end();
    } catch {
      conn.destroy();
    }
  }

  private async connect(): Promise<mysql.Connection> {
    const conn = await mysql.createConnection({ uri: this.url, connectTimeout: 5000 });
    conn.on('error', () => this.markLost());
    conn.on('end', () => this.markLost());
    this.conn = conn;
    return conn;
  }

  /** Detects a silently dead connection (no FIN seen) within keepAliveMs. */
  private startKeepAlive(conn: mysql.Connection): void {
    this.stopKeepAlive();
    this.keepAlive = setInterval(() => {
      conn
        .query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.lockName])
        .then(([rows]) => {
          if (rows[0]?.mine !== 1) this.markLost();
        })
        .catch(() => this.markLost());
    }, this.keepAliveMs);
    this.keepAlive.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private markLost(): void {
    const wasHeld = this.held;
    this.dropConnection();
    if (wasHeld) {
      this.logger.warn({ consumer: this.lockName }, 'consumer lease lost');
      for (const listener of this.lostListeners) listener();
    }
  }

  private dropConnection(): void {
    this.stopKeepAlive();
    this.held = false;
    const conn = this.conn;
    this.conn = null;
    conn?.destroy();
  }
}
