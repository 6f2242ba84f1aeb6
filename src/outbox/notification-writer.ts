/**
 * NotificationWriter — the only way a notification enters the system.
 *
 * Rules:
 * - One transaction writes the message row, one inbox row per recipient user and one
 *   outbox row. Either all of them commit or none does; the caller answers only after
 *   the commit, so a 2xx always means "durably stored and will be published".
 * - The dedupe key is unique per tenant in the schema. A repeat (also a concurrent one
 *   that loses the race on the unique index) writes nothing and returns the first id.
 * - Ids are UUIDv7 generated here, but ids are NOT commit-ordered: concurrent writers
 *   commit out of id order. Ordering for delivery and replay comes from the relay's
 *   sequence (see outbox-relay.ts), never from the id.
 * - After commit the relay is woken (`onCommitted`); if that wake-up is lost the relay's
 *   poll picks the row up anyway.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/store.js';
import { encodeData, type Priority, type Scope } from '../store/message-codec.js';

export interface NotificationInput {
  tenantId: string;
  kind: string;
  scope: Scope;
  /** Distinct recipient user ids; empty for scope "tenant". */
  userIds: readonly string[];
  title: string;
  body?: string;
  data?: Record<string, unknown>;
  priority: Priority;
  dedupeKey?: string;
  ttlSeconds?: number;
}

export type WriteResult =
  | { id: string; deduped: false; recipients: number }
  | { id: string; deduped: true };

export interface WriterHooks {
  /** Test seam: runs inside the transaction after all inserts, before COMMIT. */
  beforeCommit?: (id: string) => Promise<void>;
  /** Test seam: choose the id (to construct "lower id commits later" on SQLite). */
  newId?: () => string;
}

const INSERT_CHUNK = 500;

export class NotificationWriter {
  constructor(
    private readonly store: Store,
    private readonly onCommitted: () => void,
    private readonly hooks: WriterHooks = {},
  ) {}

  async write(input: NotificationInput, now = Date.now()): Promise<WriteResult> {
    if (input.dedupeKey) {
      const existing = await this.findByDedupeKey(input.tenantId, input.dedupeKey);
      if (existing) return { id: existing, deduped: true };
    }
    const id = this.hooks.newId?.() ?? uuidv7();
    try {
      await this.store.db.transaction(async (trx) => {
        await this.insertRows(trx, id, input, now);
        await this.hooks.beforeCommit?.(id);
      });
    } catch (error) {
      if (input.dedupeKey && this.store.dialect.isUniqueViolation(error)) {
        const winner = await this.findByDedupeKey(input.tenantId, input.dedupeKey);
        if (winner) return { id: winner, deduped: true };
      }
      throw error;
    }
    this.onCommitted();
    return { id, deduped: false, recipients: input.userIds.length };
  }

  private async insertRows(trx: Knex.Transaction, id: string, input: NotificationInput, now: number): Promise<void> {
    await trx('notify_messages').insert({
      id,
      tenant_id: input.tenantId,
      kind: input.kind,
      scope: input.scope,
      title: input.title,
      body: input.body ?? null,
      data: encodeData(input.data),
      priority: input.priority,
      dedupe_key: input.dedupeKey ?? null,
      seq: null,
      created_at: now,
      expires_at: input.ttlSeconds ? now + input.ttlSeconds * 1000 : null,
    });
    for (let i = 0; i < input.userIds.length; i += INSERT_CHUNK) {
      const rows = input.userIds.slice(i, i + INSERT_CHUNK).map((userId) => ({
        tenant_id: input.tenantId,
        user_id: userId,
        message_id: id,
        seq: null,
        created_at: now,
      }));
      await trx('notify_inbox').insert(rows);
    }
    await trx('notify_outbox').insert({ message_id: id, seq: null, created_at: now });
  }

  private async findByDedupeKey(tenantId: string, dedupeKey: string): Promise<string | undefined> {
    const row = await this.store.db('notify_messages')
      .where({ tenant_id: tenantId, dedupe_key: dedupeKey })
      .first<{ id: string } | undefined>('id');
    return row?.id;
  }
}
