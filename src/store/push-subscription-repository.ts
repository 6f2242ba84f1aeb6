/** Browser push subscriptions per user and device (`POST /api/push-subscriptions`). */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

export interface PushSubscriptionInput {
  endpoint: string;
  p256dh: string;
  auth: string;
  deviceId: string | null;
}

const PAGE = 1000;
const hashOf = (endpoint: string) => createHash('sha256').update(endpoint).digest('hex');

export class PushSubscriptionRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Stores a subscription for the user; the same endpoint registered again (a browser
   * refreshing its keys, or another user signing in on that browser) replaces the old row.
   */
  async upsert(id: string, tenantId: string, userId: string, input: PushSubscriptionInput, now = Date.now()): Promise<string> {
    const endpointHash = hashOf(input.endpoint);
    return this.db.transaction(async (trx) => {
      const existing = (await trx('notify_push_subscriptions').where({ endpoint_hash: endpointHash }).first('id')) as { id: string } | undefined;
      const row = { tenant_id: tenantId, user_id: userId, device_id: input.deviceId, endpoint: input.endpoint, p256dh: input.p256dh, auth: input.auth };
      if (existing) {
        await trx('notify_push_subscriptions').where({ id: existing.id }).update(row);
        return existing.id;
      }
      await trx('notify_push_subscriptions').insert({ id, endpoint_hash: endpointHash, created_at: now, ...row });
      return id;
    });
  }

  /** Deletes one of the user's subscriptions, by id or endpoint. */
  async deleteForUser(tenantId: string, userId: string, by: { id?: string; endpoint?: string }): Promise<boolean> {
    const where = by.id !== undefined ? { id: by.id } : { endpoint_hash: hashOf(by.endpoint ?? '') };
    return (await this.db('notify_push_subscriptions').where({ tenant_id: tenantId, user_id: userId, ...where }).delete()) > 0;
  }

  /** The push service said the subscription is gone (404/410). */
  async delete(id: string): Promise<void> {
    await this.db('notify_push_subscriptions').where({ id }).delete();
  }

  /** Subscription ids by user, for these users (every user of the tenant when null). */
  async forUsers(tenantId: string, userIds: readonly string[] | null): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>();
    const add = (rows: { id: string; user_id: string }[]) => {
      for (const r of rows) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r.id]);
    };
    if (userIds === null) {
      add(await this.db('notify_push_subscriptions').where({ tenant_id: tenantId }).limit(100_000).select('id', 'user_id'));
      return byUser;
    }
    for (let i = 0; i < userIds.length; i += PAGE) {
      add(await this.db('notify_push_subscriptions').where({ tenant_id: tenantId }).whereIn('user_id', userIds.slice(i, i + PAGE)).select('id', 'user_id'));
    }
    return byUser;
  }
}
