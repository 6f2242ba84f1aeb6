/**
 * Socket.IO's sharded Redis adapter (SSUBSCRIBE / SPUBLISH, Redis 7), one channel per
 * room ("dynamic-private": also per socket), so an instance hears only the rooms its
 * sockets are in, and a room's traffic lands on one shard.
 *
 * Order: the relay emits in commit order, and a socket must receive in that order even
 * when consecutive notifications go to different rooms (its user room, then its tenant
 * room). Sharded Pub/Sub keeps order per shard connection only, so every room of a tenant
 * is put in one slot: the channel carries the tenant (the room's second segment, e.g.
 * `user:<tenant>:<user>`) as its `{hash tag}`. Tenants spread over the shards; one
 * tenant's rooms share one.
 *
 * `dynamicChannel` is internal to @socket.io/redis-adapter 8.x: it is replaced on the
 * instance, and a version without it fails here at start, not silently.
 */
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Namespace } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { RedisClient } from '../redis/redis-client.js';

interface ShardedInternals {
  channel?: unknown;
  dynamicChannel?: unknown;
}

export function createTenantShardedAdapter(pub: RedisClient, sub: RedisClient, channelPrefix: string): (nsp: Namespace) => Adapter {
  const make = createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode: 'dynamic-private' });
  // A plain function, not an arrow: socket.io calls the adapter factory with `new`.
  return function tenantShardedAdapter(nsp: Namespace) {
    const adapter = make(nsp) as unknown as ShardedInternals;
    const { channel } = adapter;
    if (typeof channel !== 'string' || typeof adapter.dynamicChannel !== 'function') {
      throw new Error('@socket.io/redis-adapter internals changed: per-tenant channel slots cannot be installed');
    }
    adapter.dynamicChannel = (room: string) => `${channel}${slotTagOf(room)}${room}#`;
    return adapter as unknown as Adapter;
  };
}

/** `{tenant}` for `kind:tenant:…` rooms; none for socket ids (their own slot, never ordered against others). */
export function slotTagOf(room: string): string {
  const tenant = /^[a-z]+:([^:{}]+)/.exec(room)?.[1];
  return tenant ? `{${tenant}}` : '';
}
