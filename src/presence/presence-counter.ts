/**
 * This instance's own presence, exactly: per (tenant, topic) and per tenant, how many
 * sockets each user has. Changes are remembered as dirty (key, user) pairs until a
 * driver takes them (`takeDirty`) to write them elsewhere; the in-memory driver never does.
 */
export type CountKey = string;

/** The key of a topic's counts and of a tenant's user counts; the one place they are built. */
export const topicKey = (tenantId: string, topic: string): CountKey => `t\u0000${tenantId}\u0000${topic}`;
export const usersKey = (tenantId: string): CountKey => `u\u0000${tenantId}`;

export class PresenceCounter {
  private readonly counts = new Map<CountKey, Map<string, number>>();
  private readonly dirty = new Map<CountKey, Set<string>>();

  /** `trackChanges` false: nobody takes the changes (one process), so none are kept. */
  constructor(private readonly trackChanges = true) {}

  add(key: CountKey, userId: string, delta: 1 | -1): number {
    let users = this.counts.get(key);
    if (!users) {
      if (delta < 0) return 0;
      users = new Map();
      this.counts.set(key, users);
    }
    const count = Math.max(0, (users.get(userId) ?? 0) + delta);
    if (count === 0) users.delete(userId);
    else users.set(userId, count);
    if (users.size === 0) this.counts.delete(key);
    if (!this.trackChanges) return count;
    let changed = this.dirty.get(key);
    if (!changed) this.dirty.set(key, (changed = new Set()));
    changed.add(userId);
    return count;
  }

  users(key: CountKey): ReadonlyMap<string, number> {
    return this.counts.get(key) ?? new Map();
  }

  count(key: CountKey, userId: string): number {
    return this.counts.get(key)?.get(userId) ?? 0;
  }

  keys(): IterableIterator<CountKey> {
    return this.counts.keys();
  }

  /** Keys of topics (not user tallies) with at least one socket here. */
  topicKeyCount(): number {
    let n = 0;
    for (const key of this.counts.keys()) if (key.startsWith('t\u0000')) n += 1;
    return n;
  }

  /** The changes since the last call, per key: user → current count (0 = gone). */
  takeDirty(): Map<CountKey, Map<string, number>> {
    const taken = new Map<CountKey, Map<string, number>>();
    for (const [key, users] of this.dirty) {
      const now = new Map<string, number>();
      for (const user of users) now.set(user, this.count(key, user));
      taken.set(key, now);
    }
    this.dirty.clear();
    return taken;
  }

  /** Marks every user of `key` dirty (its copy elsewhere was lost). */
  markAllDirty(key: CountKey): void {
    this.markDirty(key, this.counts.get(key)?.keys() ?? []);
  }

  /** Gives back changes taken but not written (a failed write): they are written next time. */
  restoreDirty(taken: ReadonlyMap<CountKey, ReadonlyMap<string, number>>): void {
    for (const [key, users] of taken) this.markDirty(key, users.keys());
  }

  private markDirty(key: CountKey, users: Iterable<string>): void {
    let changed = this.dirty.get(key);
    if (!changed) this.dirty.set(key, (changed = new Set()));
    for (const user of users) changed.add(user);
  }
}

export function sumCounts(users: ReadonlyMap<string, number>): { connections: number; users: number } {
  let connections = 0;
  for (const n of users.values()) connections += n;
  return { connections, users: users.size };
}
