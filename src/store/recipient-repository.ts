/** A user's addresses for external channels (`PUT /api/recipients/:userId`). */
import type { Knex } from 'knex';
import { toNumber } from './message-codec.js';

export interface RecipientRecord {
  tenantId: string;
  userId: string;
  email: string | null;
  mobile: string | null;
  wecomUserId: string | null;
  locale: string | null;
  timezone: string | null;
  updatedAt: number;
}

export type RecipientFields = Pick<RecipientRecord, 'email' | 'mobile' | 'wecomUserId' | 'locale' | 'timezone'>;

/** Users per query when a tenant broadcast is expanded to its recipients. */
const PAGE = 1000;

export class RecipientRepository {
  constructor(private readonly db: Knex) {}

  /** Creates or replaces all fields; returns true when it was created. */
  async put(tenantId: string, userId: string, fields: RecipientFields, now = Date.now()): Promise<boolean> {
    const row = {
      email: fields.email,
      mobile: fields.mobile,
      wecom_user_id: fields.wecomUserId,
      locale: fields.locale,
      timezone: fields.timezone,
      updated_at: now,
    };
    return this.db.transaction(async (trx) => {
      const changed = await trx('notify_recipients').where({ tenant_id: tenantId, user_id: userId }).update(row);
      if (changed > 0) return false;
      await trx('notify_recipients').insert({ tenant_id: tenantId, user_id: userId, ...row });
      return true;
    });
  }

  async get(tenantId: string, userId: string): Promise<RecipientRecord | null> {
    const row = (await this.db('notify_recipients').where({ tenant_id: tenantId, user_id: userId }).first()) as Record<string, unknown> | undefined;
    return row ? toRecord(row) : null;
  }

  async delete(tenantId: string, userId: string): Promise<boolean> {
    return (await this.db('notify_recipients').where({ tenant_id: tenantId, user_id: userId }).delete()) > 0;
  }

  /** Which of these users have an email address (a tenant-wide list when `userIds` is null). */
  async withEmail(tenantId: string, userIds: readonly string[] | null): Promise<Set<string>> {
    const found = new Set<string>();
    if (userIds === null) {
      let after = '';
      for (;;) {
        const page: string[] = await this.db('notify_recipients')
          .where({ tenant_id: tenantId })
          .whereNotNull('email')
          .andWhere('user_id', '>', after)
          .orderBy('user_id')
          .limit(PAGE)
          .pluck('user_id');
        for (const id of page) found.add(id);
        if (page.length < PAGE) return found;
        after = page[page.length - 1]!;
      }
    }
    for (let i = 0; i < userIds.length; i += PAGE) {
      const ids: string[] = await this.db('notify_recipients')
        .where({ tenant_id: tenantId })
        .whereIn('user_id', userIds.slice(i, i + PAGE))
        .whereNotNull('email')
        .pluck('user_id');
      for (const id of ids) found.add(id);
    }
    return found;
  }
}

function toRecord(row: Record<string, unknown>): RecipientRecord {
  return {
    tenantId: row.tenant_id as string,
    userId: row.user_id as string,
    email: (row.email as string | null) ?? null,
    mobile: (row.mobile as string | null) ?? null,
    wecomUserId: (row.wecom_user_id as string | null) ?? null,
    locale: (row.locale as string | null) ?? null,
    timezone: (row.timezone as string | null) ?? null,
    updatedAt: toNumber(row.updated_at as number)!,
  };
}
