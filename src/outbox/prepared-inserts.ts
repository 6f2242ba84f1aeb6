/**
 * The statements of a write, built before its transaction starts.
 *
 * A write holds the sequence row lock from its first statement to COMMIT, and every
 * other write waits for it (notification-writer.ts). So nothing slow may happen inside:
 * the SQL and bindings are built here, beforehand. Positions are SQL expressions on the
 * block just reserved (StoreDialect.positions), so nothing is filled in afterwards; on
 * MySQL the whole transaction then goes as one query (mysql-dialect.ts, runWrite).
 */
import type { Knex } from 'knex';
import { BoundedCache } from '../store/bounded-cache.js';
import type { PositionSql, WriteStatement } from '../store/dialect.js';
import { encodeData, encodeDelivery, encodeDevices, encodeSegments, encodeTopics } from '../store/message-codec.js';
import { sequenceRowName, type StreamPartition } from '../stream/stream-partitions.js';
import type { NotificationInput } from './notification-writer.js';

/** Rows per INSERT: far below SQLite's 32,766 bound variables, small packets for MySQL. */
const ROWS_PER_STATEMENT = 500;

export interface PlannedRow {
  id: string;
  input: NotificationInput;
}

interface Table {
  name: string;
  /** `seq` is written as the dialect's position expression; its binding is the row's offset. */
  columns: readonly string[];
}

const MESSAGES: Table = {
  name: 'notify_messages',
  columns: ['id', 'tenant_id', 'kind', 'scope', 'title', 'body', 'data', 'priority', 'dedupe_key', 'seq', 'created_at', 'expires_at', 'delivery', 'topics', 'devices', 'segments'],
};
const INBOX: Table = { name: 'notify_inbox', columns: ['tenant_id', 'user_id', 'message_id', 'seq', 'created_at', 'muted'] };
const OUTBOX: Table = { name: 'notify_outbox', columns: ['message_id', 'seq', 'created_at', 'part'] };
/** Scope "topic": one row per topic, no inbox rows (migrations/…_006_topics.ts). */
const TOPICS: Table = { name: 'notify_topic_messages', columns: ['tenant_id', 'topic', 'seq', 'message_id', 'created_at'] };
/** Scope "segment": one row per segment, no inbox rows (migrations/…_009_segments.ts). */
const SEGMENTS: Table = { name: 'notify_segment_messages', columns: ['tenant_id', 'segment', 'seq', 'message_id', 'created_at'] };

export class PreparedWrite {
  /** The reservation, then the INSERTs: what StoreDialect.runWrite runs as one transaction. */
  readonly statements: WriteStatement[];

  /**
   * Planned row i gets the i-th position of the block reserved for all of `rows` in
   * `partition`, whose positions are `count` apart (stream/stream-partitions.ts). Every
   * row must be of that partition.
   */
  constructor(rows: readonly PlannedRow[], now: number, private readonly positions: PositionSql, partition: StreamPartition) {
    const step = partition.count;
    // Offset of row i from the block's last position (the binding of its `seq` slot).
    const seq = (i: number) => (i - rows.length + 1) * step;
    const messages = rows.map(({ id, input }, i): Knex.Value[] => [
      id,
      input.tenantId,
      input.kind,
      input.scope,
      input.title,
      input.body ?? null,
      encodeData(input.data),
      input.priority,
      input.dedupeKey ?? null,
      seq(i),
      now,
      input.ttlSeconds ? now + input.ttlSeconds * 1000 : null,
      encodeDelivery(input.delivery),
      encodeTopics(input.topics),
      encodeDevices(input.devices),
      encodeSegments(input.segments),
    ]);
    const inbox = rows.flatMap(({ id, input }, i) => {
      // Muted is a column of the same multi-row INSERT (0/1: better-sqlite3 binds no booleans).
      const muted = input.mutedUserIds?.length ? new Set(input.mutedUserIds) : null;
      return input.userIds.map((userId): Knex.Value[] => [input.tenantId, userId, id, seq(i), now, muted?.has(userId) ? 1 : 0]);
    });
    const outbox = rows.map(({ id }, i): Knex.Value[] => [id, seq(i), now, partition.index]);
    const topics = rows.flatMap(({ id, input }, i) => (input.topics ?? []).map((topic): Knex.Value[] => [input.tenantId, topic, seq(i), id, now]));
    const segments = rows.flatMap(({ id, input }, i) => (input.segments ?? []).map((name): Knex.Value[] => [input.tenantId, name, seq(i), id, now]));
    this.statements = [
      { sql: positions.reserve, bindings: [rows.length * step, sequenceRowName(partition.index, step), step], positionSlots: [] },
      // Messages first, then their inbox and outbox rows: the order every write uses.
      ...this.inserts(MESSAGES, messages),
      ...this.inserts(INBOX, inbox),
      ...this.inserts(OUTBOX, outbox),
      ...this.inserts(TOPICS, topics),
      ...this.inserts(SEGMENTS, segments),
    ];
  }

  private inserts(table: Table, rows: Knex.Value[][]): WriteStatement[] {
    const statements: WriteStatement[] = [];
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const bindings: Knex.Value[] = [];
      const positionSlots: number[] = [];
      const seqColumn = table.columns.indexOf('seq');
      for (const row of chunk) {
        positionSlots.push(bindings.length + seqColumn);
        for (const value of row) bindings.push(value);
      }
      statements.push({ sql: insertSql(table, chunk.length, this.positions.position), bindings, positionSlots });
    }
    return statements;
  }
}

/** Rows of one write share one shape, so the SQL text depends only on the row count: cache it. */
const sqlCache = new BoundedCache<string>(64);

function insertSql(table: Table, rowCount: number, position: string): string {
  return sqlCache.get(`${table.name}\u0000${rowCount}\u0000${position}`, () => {
    const tuple = `(${table.columns.map((c) => (c === 'seq' ? position : '?')).join(', ')})`;
    return `INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES ${new Array<string>(rowCount).fill(tuple).join(', ')}`;
  });
}
