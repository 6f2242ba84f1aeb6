/**
 * The audit log (`notify_audit`, migrations/…_004_audit.ts): append, list newest first,
 * delete past retention. Callers pass only what may be shown to any operator of the
 * tenant: key ids (never keys), names and ids, no secrets or addresses.
 */
import { whereInScope, type TenantScope } from './tenant-scope.js';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { AUDIT_TABLE } from '../../migrations/20261130_004_audit.js';
import { decodeData, toNumber } from './message-codec.js';

export interface AuditEntry {
  tenantId: string;
  /** `key:<key id>` or `user:<user id>`. */
  actor: string;
  /** `channel.put`, `channel.delete`, `recipient.put`, `recipient.delete`, `delivery.retry`, `notify`, … */
  action: string;
  /** Channel name, user id, delivery id or message id. */
  target: string;
  details?: Record<string, unknown> | null;
}

export interface AuditRecord {
  id: string;
  tenantId: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown> | null;
  createdAt: string;
}

export interface AuditFilter {
  /** Absent: every tenant of every app. */
  scope?: TenantScope;
  action?: string;
  /** Rows older than this id (the previous page's last id). */
  before?: string;
  limit: number;
}

const INSERT_CHUNK = 200;

export class AuditRepository {
  constructor(private readonly db: Knex) {}

  /** Appends one row per entry; the ids (UUIDv7, increasing in this process) are returned in order. */
  async record(entries: AuditEntry | readonly AuditEntry[], now = Date.now()): Promise<string[]> {
    const rows = (Array.isArray(entries) ? entries : [entries as AuditEntry]).map((e) => ({
      id: uuidv7(),
      tenant_id: e.tenantId,
      actor: e.actor,
      action: e.action,
      target: e.target,
      details: e.details ? JSON.stringify(e.details) : null,
      created_at: now,
    }));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await this.db(AUDIT_TABLE).insert(rows.slice(i, i + INSERT_CHUNK));
    return rows.map((r) => r.id);
  }

  /** Newest first. */
  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    const rows: Record<string, unknown>[] = await this.db(AUDIT_TABLE)
      .modify((q) => {
        if (filter.scope !== undefined) whereInScope(q, 'tenant_id', filter.scope);
        if (filter.action !== undefined) q.where('action', filter.action);
        if (filter.before !== undefined) q.where('id', '<', filter.before);
      })
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .select('*');
    return rows.map(toRecord);
  }

  /** Rows created before `cutoff`, at most `batchSize` of them; returns how many. */
  async deleteBefore(cutoff: number, batchSize: number): Promise<number> {
    const ids: string[] = await this.db(AUDIT_TABLE).where('created_at', '<', cutoff).limit(batchSize).pluck('id');
    if (ids.length === 0) return 0;
    return this.db(AUDIT_TABLE).whereIn('id', ids).delete();
  }
}

function toRecord(row: Record<string, unknown>): AuditRecord {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    actor: row.actor as string,
    action: row.action as string,
    target: row.target as string,
    details: decodeData(row.details),
    createdAt: new Date(toNumber(row.created_at as number)!).toISOString(),
  };
}
