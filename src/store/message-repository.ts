/**
 * Lookups on stored notifications (`notify_messages`) for the writer. The dedupe key is
 * unique per tenant in the schema, so a (tenant, key) names at most one message.
 * Writing goes through `Store.writes` (see outbox/notification-writer.ts for its rules).
 */
import type { Knex } from 'knex';

/** A stored dedupe key and the id of the message that holds it. */
export interface StoredDedupeKey {
  id: string;
  tenantId: string;
  dedupeKey: string;
}

const DEDUPE_LOOKUP_CHUNK = 500;

export class MessageRepository {
  constructor(private readonly db: Knex) {}

  /** The id of the tenant's message with this dedupe key, if one is stored. */
  async findByDedupeKey(tenantId: string, dedupeKey: string): Promise<string | undefined> {
    const row = await this.db('notify_messages')
      .where({ tenant_id: tenantId, dedupe_key: dedupeKey })
      .first<{ id: string } | undefined>('id');
    return row?.id;
  }

  /** Which of these (tenant, dedupe key) pairs are already stored, and by which message. */
  async findByDedupeKeys(keys: readonly { tenantId: string; dedupeKey: string }[]): Promise<StoredDedupeKey[]> {
    const pairs = keys.map((k) => [k.tenantId, k.dedupeKey]);
    const found: StoredDedupeKey[] = [];
    for (let i = 0; i < pairs.length; i += DEDUPE_LOOKUP_CHUNK) {
      const rows: { id: string; tenant_id: string; dedupe_key: string }[] = await this.db('notify_messages')
        .whereIn(['tenant_id', 'dedupe_key'], pairs.slice(i, i + DEDUPE_LOOKUP_CHUNK))
        .select('id', 'tenant_id', 'dedupe_key');
      for (const row of rows) found.push({ id: row.id, tenantId: row.tenant_id, dedupeKey: row.dedupe_key });
    }
    return found;
  }
}
