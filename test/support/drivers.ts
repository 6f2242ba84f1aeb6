/**
 * Per-file isolation for the driver under test: a fresh SQLite file, or a fresh MySQL
 * database plus a random Redis channel prefix. Nothing is shared between test files.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

export type Driver = 'sqlite' | 'mysql';

export const driver: Driver = process.env.TEST_DRIVER === 'mysql' ? 'mysql' : 'sqlite';
export const isMysql = driver === 'mysql';

export interface TestDatabase {
  url: string;
  redisUrl: string | undefined;
  redisPrefix: string;
  drop(): Promise<void>;
}

export const randomName = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

export async function createTestDatabase(): Promise<TestDatabase> {
  const redisPrefix = randomName('t');
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'notify-test-'));
    return {
      url: `sqlite:${join(dir, 'notify.db')}`,
      redisUrl: undefined,
      redisPrefix,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await createMysqlDatabase('notify_t_');
  return {
    ...db,
    redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix,
  };
}

export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A fresh database on the MySQL/MariaDB server of TEST_MYSQL_URL, dropped by `drop`. */
export async function createMysqlDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = new URL(MYSQL_URL);
  const name = randomName(prefix);
  const admin = await mysql.createConnection({ uri: serverUrl.toString() }).catch((error: Error) => {
    throw new Error(`MySQL/MariaDB is required here (${serverUrl.host}): ${error.message}`);
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const conn = await mysql.createConnection({ uri: serverUrl.toString() });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
