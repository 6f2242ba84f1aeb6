/**
 * The preferences a notification's policy decisions need (policy.ts), read through a
 * per-instance cache.
 *
 * Rules:
 * - Hot path: when the kind's defaults, the tenant default and every user are cached,
 *   `load` runs no query. The users (and tenant default) not cached are read in one
 *   batched query (store/preference-repository.ts), the kind's defaults in another, and
 *   what was read is cached, "has no document" included (a null entry), so users without
 *   preferences cost nothing after their first notification.
 * - Concurrent loads share reads: a key being read is not read again until that read ends.
 *   The documents missed by every load of one tenant in one turn of the event loop go in
 *   one query: concurrent requests, and the items of one batch request, read together
 *   rather than one query each (which queued for pool connections under load).
 * - Memory is bounded: an LRU of POLICY_CACHE_ENTRIES entries; each entry lives at most
 *   POLICY_CACHE_TTL_SECONDS, a safety net for an invalidation that never arrived.
 * - A change (PUT/DELETE on any instance) invalidates the key here and, through the
 *   fan-out, on every other instance (gateway.ts). A read that was in flight when any
 *   invalidation arrived is returned to its callers but not cached: it may predate the
 *   change. When the cross-instance link is lost or restored the whole cache is cleared,
 *   since invalidations may have been lost meanwhile.
 */
import type { PreferenceRepository } from '../store/preference-repository.js';
import { ExpiringLru } from './expiring-lru.js';
import type { PolicyChange } from './policy-change.js';
import type { PolicySnapshot, PolicySource } from './policy.js';
import type { KindDefaults, PreferenceDocument } from './preferences.js';

/** What the cache reads (store.preferences). */
export type PreferenceReader = Pick<PreferenceRepository, 'getMany' | 'getKind'>;

export interface PolicyCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** Counts lookups per key: `hit` from the cache, `miss` read (or joined a read in flight). */
  onLookup?: (result: 'hit' | 'miss', count: number) => void;
  now?: () => number;
}

/** One cached thing, for inspection (`peek`). */
export type PolicyKey = { tenantId: string; userId: string } | { tenantId: string; kind: string } | { tenantId: string; tenantDefaults: true };

type Cached = PreferenceDocument | KindDefaults | null;

// Tenant ids never contain ':' (config TENANT_ID), so `<kind of key>:<tenant>:` prefixes are unambiguous.
const userKey = (tenantId: string, userId: string) => `u:${tenantId}:${userId}`;
const kindKey = (tenantId: string, kind: string) => `k:${tenantId}:${kind}`;
const tenantKey = (tenantId: string) => `t:${tenantId}`;
/** In a batch read, the tenant default is the document of user ''. */
const TENANT_DEFAULT = '';

export class PolicyCache implements PolicySource {
  private readonly cache: ExpiringLru<Cached>;
  private readonly inFlight = new Map<string, Promise<Cached>>();
  /** Per tenant: the document ids to read once this turn's loads have all asked. */
  private readonly queued = new Map<string, { ids: Set<string>; read: Promise<Map<string, PreferenceDocument>> }>();
  /** Moves on every invalidation: a read that saw it move does not cache its result. */
  private generation = 0;

  constructor(
    private readonly source: PreferenceReader,
    private readonly options: PolicyCacheOptions,
  ) {
    this.cache = new ExpiringLru(options.maxEntries, options.ttlMs, options.now);
  }

  get size(): number {
    return this.cache.size;
  }

  async load(tenantId: string, kind: string, userIds: readonly string[]): Promise<PolicySnapshot> {
    let hits = 0;
    const pending: Promise<unknown>[] = [];
    const unread: string[] = [];
    /** The cached value now, or a read to wait for (joined or, for documents, queued in `unread`). */
    const lookup = (key: string, assign: (value: Cached) => void, read: () => void): void => {
      const hit = this.cache.get(key);
      if (hit) {
        hits++;
        assign(hit.value);
        return;
      }
      if (!this.inFlight.has(key)) read();
      const waiting = this.inFlight.get(key);
      if (waiting) pending.push(waiting.then(assign));
    };

    const snapshot: { kindDefaults: KindDefaults | null; tenant: PreferenceDocument | null; users: Map<string, PreferenceDocument> } = {
      kindDefaults: null,
      tenant: null,
      users: new Map(),
    };
    lookup(kindKey(tenantId, kind), (v) => (snapshot.kindDefaults = v as KindDefaults | null), () => this.readKind(tenantId, kind));
    const documentKeys: [string, string][] = [[tenantKey(tenantId), TENANT_DEFAULT]];
    for (const userId of new Set(userIds)) if (userId !== TENANT_DEFAULT) documentKeys.push([userKey(tenantId, userId), userId]);
    const assignDocument = (id: string) => (value: Cached) => {
      if (id === TENANT_DEFAULT) snapshot.tenant = value as PreferenceDocument | null;
      else if (value) snapshot.users.set(id, value as PreferenceDocument);
    };
    for (const [key, id] of documentKeys) lookup(key, assignDocument(id), () => unread.push(id));
    if (unread.length > 0) {
      this.readDocuments(tenantId, unread);
      for (const id of unread) pending.push(this.inFlight.get(this.documentKey(tenantId, id))!.then(assignDocument(id)));
    }

    const lookups = documentKeys.length + 1;
    if (hits > 0) this.options.onLookup?.('hit', hits);
    if (lookups > hits) this.options.onLookup?.('miss', lookups - hits);
    if (pending.length > 0) await Promise.all(pending);
    return snapshot;
  }

  /** Drops what `change` names here (other instances are told through the fan-out). */
  invalidate(change: PolicyChange): void {
    this.generation++;
    const { tenantId } = change;
    if (change.userId !== undefined) this.drop(userKey(tenantId, change.userId));
    if (change.kind !== undefined) this.drop(kindKey(tenantId, change.kind));
    if (change.tenantDefaults) this.drop(tenantKey(tenantId));
    if (change.userId === undefined && change.kind === undefined && !change.tenantDefaults) {
      this.drop(tenantKey(tenantId));
      this.dropPrefix(userKey(tenantId, ''));
      this.dropPrefix(kindKey(tenantId, ''));
    }
  }

  /** Forgets everything (the cross-instance link was lost or restored). */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.inFlight.clear();
  }

  /** What is cached for one key, without reading or touching recency; undefined when nothing is. */
  peek(key: PolicyKey): { value: Cached } | undefined {
    if ('userId' in key) return this.cache.peek(userKey(key.tenantId, key.userId));
    if ('kind' in key) return this.cache.peek(kindKey(key.tenantId, key.kind));
    return this.cache.peek(tenantKey(key.tenantId));
  }

  private documentKey(tenantId: string, id: string): string {
    return id === TENANT_DEFAULT ? tenantKey(tenantId) : userKey(tenantId, id);
  }

  /**
   * Queues these documents for the tenant's read of this turn (one batched query, sent
   * from setImmediate, after every request read in this turn has asked); each key's share
   * of it is registered in flight at once, so later loads join it.
   */
  private readDocuments(tenantId: string, ids: readonly string[]): void {
    let queued = this.queued.get(tenantId);
    if (!queued) {
      const batchIds = new Set<string>();
      const read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.queued.delete(tenantId);
        return this.source.getMany(tenantId, [...batchIds]);
      });
      this.queued.set(tenantId, (queued = { ids: batchIds, read }));
    }
    for (const id of ids) {
      queued.ids.add(id);
      this.track(this.documentKey(tenantId, id), queued.read.then((found) => found.get(id) ?? null));
    }
  }

  private readKind(tenantId: string, kind: string): void {
    this.track(kindKey(tenantId, kind), this.source.getKind(tenantId, kind).then((found) => found?.defaults ?? null));
  }

  private track(key: string, read: Promise<Cached>): void {
    const generation = this.generation;
    const shared: Promise<Cached> = read
      .then((value) => {
        if (this.generation === generation) this.cache.set(key, value);
        return value;
      })
      .finally(() => {
        if (this.inFlight.get(key) === shared) this.inFlight.delete(key);
      });
    this.inFlight.set(key, shared);
  }

  private drop(key: string): void {
    this.cache.delete(key);
    this.inFlight.delete(key);
  }

  private dropPrefix(prefix: string): void {
    this.cache.deletePrefix(prefix);
    for (const key of this.inFlight.keys()) if (key.startsWith(prefix)) this.inFlight.delete(key);
  }
}
