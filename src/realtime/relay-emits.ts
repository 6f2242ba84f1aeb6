/**
 * The relay's `notification` emits. The relay leader emits to its own sockets; when the
 * fan-out carries batches (Fanout.relayBatch), the other instances get each batch as a few
 * messages and emit it to theirs (`receive`), instead of one Redis message per
 * notification that every instance decodes. Either way every emit, here or there, is a
 * broadcast of the namespace's adapter, so the replay hold (replay-hold.ts) sees each one
 * on every instance; and the batch leaves before the relay's cursor moves, as the
 * one-by-one emits did.
 */
import type { Publication, RelayPublisher } from '../outbox/outbox-relay.js';
import type { AppNamespaces } from './app-namespaces.js';
import type { Fanout, RelayEmit } from './fanout.js';

export class RelayEmits implements RelayPublisher {
  constructor(
    private readonly namespaces: AppNamespaces,
    private readonly fanout: Fanout,
  ) {}

  emit({ tenantKey, rooms, notification }: Publication): void {
    if (rooms.length === 0) return;
    const nsp = this.namespaces.ofTenant(tenantKey);
    // With batches the other instances get it from `emitted`; without, through the adapter.
    (this.fanout.relayBatch ? nsp?.local : nsp)?.to(rooms).emit('notification', notification);
  }

  /**
   * Sends the batch to the other instances and tells them the stream advanced: a
   * relay-batch message stands for the advance too, so one is announced only when no such
   * message went (one Redis message fewer per notification at low rates). Resolves once
   * the batch has reached Redis (Fanout.published), before the relay's cursor moves.
   */
  emitted(published: readonly Publication[]): Promise<void> | undefined {
    const emits: RelayEmit[] = [];
    if (this.fanout.relayBatch) {
      for (const { tenantKey, rooms, notification } of published) if (rooms.length > 0) emits.push({ tenantKey, rooms, notification });
    }
    if (emits.length > 0) this.fanout.relayBatch?.(emits);
    else this.fanout.announceAdvance();
    return published.length > 0 ? this.fanout.published?.() : undefined;
  }

  /** A batch the relay emitted on another instance, in its order. */
  receive(emits: readonly RelayEmit[]): void {
    for (const { tenantKey, rooms, notification } of emits) {
      this.namespaces.ofTenant(tenantKey)?.local.to(rooms).emit('notification', notification);
    }
  }
}
