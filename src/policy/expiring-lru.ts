/**
 * A least-recently-used cache of at most `maxEntries` values, each kept at most `ttlMs`.
 * A Map keeps insertion order: a hit re-inserts its key, so the first key is always the
 * least recently used one and eviction is O(1).
 */
export class ExpiringLru<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

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
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
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
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
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
