/**
 * Preference documents and kind defaults (`notify_preferences`, `notify_kinds`,
 * migrations/…_005_policies.ts). Documents are JSON text, validated before they are
 * written (policy/preferences.ts); reads trust what was written.
 *
 * A tenant's default document is the row with `user_id` = '' (user ids are never empty).
 */
import type { Knex } from 'knex';
import type { KindDefaults, PreferenceDocument } from '../policy/preferences.js';
import { toNumber } from './message-codec.js';

export const TENANT_DEFAULT_USER = '';

export interface KindDefaultsRecord {
  tenantId: string;
  kind: string;
  defaults: KindDefaults;
  updatedAt: number;
}

/**
 * Users per batch query. At least the most recipients one notification names (1,000)
 * plus the tenant default, so one notification's cache misses are one query.
 */
const BATCH = 2000;
/** Kind defaults listed per tenant at most; a tenant has a handful. */
const MAX_KINDS_LISTED = 1000;

export class PreferenceRepository {
  constructor(private readonly db: Knex) {}

  getUser(tenantId: string, userId: string): Promise<PreferenceDocument | null> {
    return this.getDocument(tenantId, userId);
  }

  putUser(tenantId: string, userId: string, document: PreferenceDocument, now = Date.now()): Promise<boolean> {
    return this.putDocument(tenantId, userId, document, now);
  }

  deleteUser(tenantId: string, userId: string): Promise<boolean> {
    return this.deleteDocument(tenantId, userId);
  }

  getTenantDefaults(tenantId: string): Promise<PreferenceDocument | null> {
    return this.getDocument(tenantId, TENANT_DEFAULT_USER);
  }

  putTenantDefaults(tenantId: string, document: PreferenceDocument, now = Date.now()): Promise<boolean> {
    return this.putDocument(tenantId, TENANT_DEFAULT_USER, document, now);
  }

  deleteTenantDefaults(tenantId: string): Promise<boolean> {
    return this.deleteDocument(tenantId, TENANT_DEFAULT_USER);
  }

  /**
   * The documents of these users of one tenant (pass '' for the tenant default); users
   * without one are absent. One query per BATCH ids.
   */
  async getMany(tenantId: string, userIds: readonly string[]): Promise<Map<string, PreferenceDocument>> {
    const found = new Map<string, PreferenceDocument>();
    const unique = [...new Set(userIds)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const rows: { user_id: string; document: unknown }[] = await this.db('notify_preferences')
        .where({ tenant_id: tenantId })
        .whereIn('user_id', unique.slice(i, i + BATCH))
        .select('user_id', 'document');
      for (const row of rows) found.set(row.user_id, decode<PreferenceDocument>(row.document));
    }
    return found;
  }

  async getKind(tenantId: string, kind: string): Promise<KindDefaultsRecord | null> {
    const row = (await this.db('notify_kinds').where({ tenant_id: tenantId, kind }).first()) as Record<string, unknown> | undefined;
    return row ? toKindRecord(row) : null;
  }

  /** Creates or replaces; returns true when it was created. */
  async putKind(tenantId: string, kind: string, defaults: KindDefaults, now = Date.now()): Promise<boolean> {
    return this.upsert('notify_kinds', { tenant_id: tenantId, kind }, JSON.stringify(defaults), now);
  }

  async deleteKind(tenantId: string, kind: string): Promise<boolean> {
    return (await this.db('notify_kinds').where({ tenant_id: tenantId, kind }).delete()) > 0;
  }

  async listKinds(tenantId: string): Promise<KindDefaultsRecord[]> {
    const rows: Record<string, unknown>[] = await this.db('notify_kinds').where({ tenant_id: tenantId }).orderBy('kind').limit(MAX_KINDS_LISTED);
    return rows.map(toKindRecord);
  }

  private async getDocument(tenantId: string, userId: string): Promise<PreferenceDocument | null> {
    const row = (await this.db('notify_preferences').where({ tenant_id: tenantId, user_id: userId }).first('document')) as
      | { document: unknown }
      | undefined;
    return row ? decode<PreferenceDocument>(row.document) : null;
  }

  private putDocument(tenantId: string, userId: string, document: PreferenceDocument, now: number): Promise<boolean> {
    return this.upsert('notify_preferences', { tenant_id: tenantId, user_id: userId }, JSON.stringify(document), now);
  }

  private async deleteDocument(tenantId: string, userId: string): Promise<boolean> {
    return (await this.db('notify_preferences').where({ tenant_id: tenantId, user_id: userId }).delete()) > 0;
  }

  /**
   * Insert or replace in one statement, so two concurrent first PUTs cannot collide on
   * the key; `created` comes from a read just before (only the 201/200 answer uses it).
   */
  private async upsert(table: string, key: Record<string, string>, document: string, now: number): Promise<boolean> {
    const existed = await this.db(table).where(key).first(this.db.raw('1 as found'));
    await this.db(table)
      .insert({ ...key, document, updated_at: now })
      .onConflict(Object.keys(key))
      .merge(['document', 'updated_at']);
    return existed === undefined;
  }
}

/** mysql2 on MariaDB may hand back parsed JSON, SQLite gives text: accept both. */
function decode<T>(raw: unknown): T {
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as T;
}

function toKindRecord(row: Record<string, unknown>): KindDefaultsRecord {
  return {
    tenantId: row.tenant_id as string,
    kind: row.kind as string,
    defaults: decode<KindDefaults>(row.document),
    updatedAt: toNumber(row.updated_at as number)!,
  };
}
