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
import type { PositionSql, WriteStatement } from '../store/dialect.js';
import { encodeData } from '../store/message-codec.js';
import type { NotificationInput } from './notification-writer.js';

/** Rows per INSERT: far below SQLite's 32,766 bound variables, small packets for MySQL. */
const ROWS_PER_STATEMENT = 500;

export interface PlannedRow {
  id: string;
  input: NotificationInput;
}

/** A cell that is a position: `binding` is its offset from the last position of the block. */
class Position {
  constructor(readonly binding: number) {}
}

type Cell = Knex.Value | Position;

const MESSAGE_COLUMNS = ['id', 'tenant_id', 'kind', 'scope', 'title', 'body', 'data', 'priority', 'dedupe_key', 'seq', 'created_at', 'expires_at'];
const INBOX_COLUMNS = ['tenant_id', 'user_id', 'message_id', 'seq', 'created_at'];
const OUTBOX_COLUMNS = ['message_id', 'seq', 'created_at'];

export class PreparedWrite {
  /** The reservation, then the INSERTs: what StoreDialect.runWrite runs as one transaction. */
  readonly statements: WriteStatement[];

  /** Planned row i gets position `first + i` of the block reserved for all of `rows`. */
  constructor(rows: readonly PlannedRow[], now: number, private readonly positions: PositionSql) {
    const seq = (i: number) => new Position(i - rows.length + 1);
    const messages = rows.map(({ id, input }, i): Cell[] => [
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
    ]);
    const inbox = rows.flatMap(({ id, input }, i) => input.userIds.map((userId): Cell[] => [input.tenantId, userId, id, seq(i), now]));
    const outbox = rows.map(({ id }, i): Cell[] => [id, seq(i), now]);
    this.statements = [
      { sql: positions.reserve, bindings: [rows.length] },
      // Messages first, then their inbox and outbox rows: the order every write uses.
      ...this.inserts('notify_messages', MESSAGE_COLUMNS, messages),
      ...this.inserts('notify_inbox', INBOX_COLUMNS, inbox),
      ...this.inserts('notify_outbox', OUTBOX_COLUMNS, outbox),
    ];
  }

  private inserts(table: string, columns: string[], rows: Cell[][]): WriteStatement[] {
    const statements: WriteStatement[] = [];
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const bindings: Knex.Value[] = [];
      const tuples = rows.slice(start, start + ROWS_PER_STATEMENT).map((cells) => {
        const slots = cells.map((cell) => {
          bindings.push(cell instanceof Position ? cell.binding : cell);
          return cell instanceof Position ? this.positions.position : '?';
        });
        return `(${slots.join(', ')})`;
      });
      statements.push({ sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, bindings });
    }
    return statements;
  }
}
