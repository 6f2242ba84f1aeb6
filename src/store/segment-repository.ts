/**
 * Segments (`PUT /api/segments/:name`): named member lists of a tenant, managed by the
 * back end and expanded when a segment notification is delivered.
 *
 * Rules:
 * - A membership change is one transaction, and it first writes the segment's row
 *   (INSERT … ON CONFLICT UPDATE): that row lock serialises changes of one segment on
 *   MySQL without gap-lock deadlocks; SQLite has one connection, so a transaction is
 *   never interleaved with any other query. Either way a reader never sees half a
 *   replacement: single statements read committed rows, and a reader that pages
 *   (`forEachMemberPage`) reads in one transaction, a snapshot (REPEATABLE READ).
 * - Statements stay small: members are inserted and removed in chunks of CHUNK rows,
 *   pages are read by user id (the primary key's order), never whole lists.
 * - Every query is scoped by the tenant key (apps/app-scope.ts): a segment of the same
 *   name in another tenant or app is another segment.
 */
import type { Knex } from 'knex';
import { toNumber } from './message-codec.js';

const SEGMENTS = 'notify_segments';
const MEMBERS = 'notify_segment_members';

/** Rows per INSERT or IN list: far below SQLite's bound variables, small packets for MySQL. */
const CHUNK = 500;

export interface SegmentSummary {
  name: string;
  members: number;
  updatedAt: number;
}

export interface MemberChange {
  add: readonly string[];
  remove: readonly string[];
}

export class SegmentRepository {
  constructor(private readonly db: Knex) {}

  /** Replaces the members with `userIds` (distinct); `created` when the segment did not exist. */
  async replace(tenantId: string, name: string, userIds: readonly string[], now = Date.now()): Promise<{ created: boolean; summary: SegmentSummary }> {
    const members = [...new Set(userIds)];
    return this.db.transaction(async (trx) => {
      const created = !(await this.exists(trx, tenantId, name));
      await lockSegment(trx, tenantId, name, now);
      await trx(MEMBERS).where({ tenant_id: tenantId, segment: name }).delete();
      await insertMembers(trx, tenantId, name, members);
      await trx(SEGMENTS).where({ tenant_id: tenantId, segment: name }).update({ member_count: members.length });
      return { created, summary: { name, members: members.length, updatedAt: now } };
    });
  }

  /** Adds and removes members (a user in both lists ends up removed); creates the segment if needed. */
  async change(tenantId: string, name: string, change: MemberChange, now = Date.now()): Promise<{ created: boolean; summary: SegmentSummary }> {
    const remove = new Set(change.remove);
    const add = [...new Set(change.add)].filter((u) => !remove.has(u));
    return this.db.transaction(async (trx) => {
      const created = !(await this.exists(trx, tenantId, name));
      await lockSegment(trx, tenantId, name, now);
      const removing = [...remove];
      for (let i = 0; i < removing.length; i += CHUNK) {
        await trx(MEMBERS).where({ tenant_id: tenantId, segment: name }).whereIn('user_id', removing.slice(i, i + CHUNK)).delete();
      }
      await insertMembers(trx, tenantId, name, add);
      const count = await countMembers(trx, tenantId, name);
      await trx(SEGMENTS).where({ tenant_id: tenantId, segment: name }).update({ member_count: count });
      return { created, summary: { name, members: count, updatedAt: now } };
    });
  }

  async get(tenantId: string, name: string): Promise<SegmentSummary | null> {
    const row = (await this.db(SEGMENTS).where({ tenant_id: tenantId, segment: name }).first('segment', 'member_count', 'updated_at')) as SegmentRow | undefined;
    return row ? toSummary(row) : null;
  }

  /** The tenant's segments by name, `limit` after the name `after`. */
  async list(tenantId: string, limit: number, after: string | null): Promise<SegmentSummary[]> {
    const rows = (await this.db(SEGMENTS)
      .where({ tenant_id: tenantId })
      .modify((q) => (after === null ? q : q.where('segment', '>', after)))
      .orderBy('segment')
      .limit(limit)
      .select('segment', 'member_count', 'updated_at')) as SegmentRow[];
    return rows.map(toSummary);
  }

  /** Members of one segment in user id order, `limit` after the user id `after`. */
  async members(tenantId: string, name: string, limit: number, after: string | null): Promise<string[]> {
    return this.db(MEMBERS)
      .where({ tenant_id: tenantId, segment: name })
      .modify((q) => (after === null ? q : q.where('user_id', '>', after)))
      .orderBy('user_id')
      .limit(limit)
      .pluck('user_id');
  }

  /** Deletes the segment and its members; false when there was none. Its messages stay, reaching nobody. */
  async delete(tenantId: string, name: string): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const deleted = await trx(SEGMENTS).where({ tenant_id: tenantId, segment: name }).delete();
      await trx(MEMBERS).where({ tenant_id: tenantId, segment: name }).delete();
      return deleted > 0;
    });
  }

  /**
   * Every distinct member of `names` as they are now, in pages of at most `pageSize` user
   * ids in id order, all read from one snapshot. Each segment is read down its primary
   * key; a page ends at the smallest last id of the segments that filled theirs, so the
   * union is merged without remembering earlier pages.
   */
  async forEachMemberPage(tenantId: string, names: readonly string[], pageSize: number, onPage: (userIds: string[]) => Promise<void>): Promise<void> {
    if (names.length === 0) return;
    await this.db.transaction(
      async (trx) => {
        let after: string | null = null;
        for (;;) {
          const pages = await Promise.all(names.map((name) => readMembers(trx, tenantId, name, pageSize, after)));
          const full = pages.filter((p) => p.length === pageSize).map((p) => p[p.length - 1]!);
          const bound = full.length > 0 ? full.reduce((a, b) => (byCodePoint(b, a) < 0 ? b : a)) : null;
          const page = [...new Set(pages.flat().filter((u) => bound === null || byCodePoint(u, bound) <= 0))].sort(byCodePoint);
          if (page.length > 0) await onPage(page);
          if (bound === null) return;
          after = bound;
        }
      },
      this.isMysql() ? { isolationLevel: 'repeatable read' } : {},
    );
  }

  private async exists(trx: Knex.Transaction, tenantId: string, name: string): Promise<boolean> {
    return Boolean(await trx(SEGMENTS).where({ tenant_id: tenantId, segment: name }).first('segment'));
  }

  private isMysql(): boolean {
    return /mysql/.test(String(this.db.client.config.client));
  }
}

interface SegmentRow {
  segment: string;
  member_count: number | string;
  updated_at: number | string;
}

const toSummary = (row: SegmentRow): SegmentSummary => ({
  name: row.segment,
  members: toNumber(row.member_count) ?? 0,
  updatedAt: toNumber(row.updated_at) ?? 0,
});

/** Ids compare as UTF-8 bytes in storage (utf8mb4_bin, SQLite's BINARY), not as UTF-16 units: compare the same way. */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Creates or touches the segment's row: the lock every membership change takes first. */
async function lockSegment(trx: Knex.Transaction, tenantId: string, name: string, now: number): Promise<void> {
  await trx(SEGMENTS)
    .insert({ tenant_id: tenantId, segment: name, member_count: 0, updated_at: now })
    .onConflict(['tenant_id', 'segment'])
    .merge({ updated_at: now });
}

async function insertMembers(trx: Knex.Transaction, tenantId: string, name: string, userIds: readonly string[]): Promise<void> {
  for (let i = 0; i < userIds.length; i += CHUNK) {
    const rows = userIds.slice(i, i + CHUNK).map((userId) => ({ tenant_id: tenantId, segment: name, user_id: userId }));
    await trx(MEMBERS).insert(rows).onConflict(['tenant_id', 'segment', 'user_id']).ignore();
  }
}

async function countMembers(trx: Knex.Transaction, tenantId: string, name: string): Promise<number> {
  const row = (await trx(MEMBERS).where({ tenant_id: tenantId, segment: name }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

function readMembers(trx: Knex.Transaction, tenantId: string, name: string, limit: number, after: string | null): Promise<string[]> {
  return trx(MEMBERS)
    .where({ tenant_id: tenantId, segment: name })
    .modify((q) => (after === null ? q : q.where('user_id', '>', after)))
    .orderBy('user_id')
    .limit(limit)
    .pluck('user_id');
}
