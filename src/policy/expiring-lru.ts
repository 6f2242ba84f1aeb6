/**
 * A least-recently-used cache of at most `maxEntries` values, each kept at most `ttlMs`.
 * A Map keeps insertion order and eviction takes its first key, O(1).
 *
 * A hit moves its key to the end only when at least half the capacity of other keys went
 * in since it last moved. Deleting and re-inserting on every hit churns the Map's hash
 * table (3 % of the gateway's CPU under batch ingest, where a few thousand recipients'
 * preferences are read over and over). A key used within that window still has at least
 * half the capacity in front of it, so it is never the next one evicted: the order is
 * approximate only among keys that are safe anyway.
 */
export class ExpiringLru<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number; movedAt: number }>();
  /** Counts insertions and moves: an entry's `movedAt` says how many came after it. */
  private moves = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry, or undefined when absent or expired. `{ value }` so a cached null or undefined is a hit. */
  get(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.moves - entry.movedAt >= this.maxEntries / 2) {
      this.entries.delete(key);
      entry.movedAt = ++this.moves;
      this.entries.set(key, entry);
    }
    return { value: entry.value };
  }

  /** The entry without touching its recency (for inspection). */
  peek(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > this.now() ? { value: entry.value } : undefined;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, movedAt: ++this.moves });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose key starts with `prefix` (a scan: for rare, wide invalidations). */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
