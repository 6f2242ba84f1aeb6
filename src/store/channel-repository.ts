/** Tenant channels (`PUT /api/channels/:name`): a name, a driver type and its JSON config. */
import { whereInScope, type TenantScope } from './tenant-scope.js';
import type { Knex } from 'knex';
import { decodeData, toNumber } from './message-codec.js';

export interface ChannelRecord {
  tenantId: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export class ChannelRepository {
  constructor(private readonly db: Knex) {}

  /** Creates or replaces; returns true when it was created. */
  async put(tenantId: string, name: string, type: string, config: Record<string, unknown>, now = Date.now()): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const changed = await trx('notify_channels').where({ tenant_id: tenantId, name }).update({ type, config: JSON.stringify(config), updated_at: now });
      if (changed > 0) return false;
      await trx('notify_channels').insert({ tenant_id: tenantId, name, type, config: JSON.stringify(config), created_at: now, updated_at: now });
      return true;
    });
  }

  async get(tenantId: string, name: string): Promise<ChannelRecord | null> {
    const row = (await this.db('notify_channels').where({ tenant_id: tenantId, name }).first()) as Record<string, unknown> | undefined;
    return row ? toRecord(row) : null;
  }

  /** The channels of one tenant with these names (missing names are simply absent). */
  async findMany(tenantId: string, names: readonly string[]): Promise<Map<string, ChannelRecord>> {
    const found = new Map<string, ChannelRecord>();
    if (names.length === 0) return found;
    const rows: Record<string, unknown>[] = await this.db('notify_channels').where({ tenant_id: tenantId }).whereIn('name', names);
    for (const row of rows) found.set(row.name as string, toRecord(row));
    return found;
  }

  async list(scope: TenantScope): Promise<ChannelRecord[]> {
    const rows: Record<string, unknown>[] = await this.db('notify_channels')
      .modify((q) => whereInScope(q, 'tenant_id', scope))
      .orderBy(['tenant_id', 'name'])
      .limit(1000);
    return rows.map(toRecord);
  }

  async delete(tenantId: string, name: string): Promise<boolean> {
    return (await this.db('notify_channels').where({ tenant_id: tenantId, name }).delete()) > 0;
  }
}

function toRecord(row: Record<string, unknown>): ChannelRecord {
  return {
    tenantId: row.tenant_id as string,
    name: row.name as string,
    type: row.type as string,
    config: decodeData(row.config) ?? {},
    createdAt: toNumber(row.created_at as number)!,
    updatedAt: toNumber(row.updated_at as number)!,
  };
}
