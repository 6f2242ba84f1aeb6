/**
 * Presence pushed to watchers: `presence { topic, connections, users }`.
 *
 * Rules:
 * - One tick per PRESENCE_INTERVAL_MS (default 1 s) on each instance reads the counts of
 *   every topic a local socket watches (one read per topic, however many watch it) and
 *   emits to that topic's local watcher room only when the counts changed since the
 *   last emit. Ticks never overlap, and a change read less than an interval after the
 *   last one sent waits for the rest of it, so a watcher gets at most one update per
 *   topic per interval.
 * - A new watcher gets the current counts at the next tick even when nothing changed
 *   (alone, not the whole room).
 * - Emits go to this instance's sockets only (`local`): every instance computes the
 *   same totals for its own watchers, nothing about presence crosses the adapter.
 */
import type { Namespace, Socket } from 'socket.io';
import type { Logger } from '../logger.js';
import { presenceRoom } from '../topics/topic-names.js';
import type { PresenceCounts, PresenceStore } from './presence-store.js';

export const PRESENCE_EVENT = 'presence';

export interface PresenceUpdate extends PresenceCounts {
  topic: string;
}

interface Watched {
  tenantId: string;
  topic: string;
  watchers: Set<Socket>;
  /** Sockets that have not been sent this topic's counts yet. */
  fresh: Set<Socket>;
  last: PresenceCounts | null;
  /** When the room was last sent a change (epoch ms). */
  sentAt: number;
  /** A change that came too soon after the last one, sent when the interval is over. */
  due: PresenceCounts | null;
  dueTimer: NodeJS.Timeout | undefined;
}

export class PresenceWatchers {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    /** The namespace of a storage tenant key's app (realtime/app-namespaces.ts). */
    private readonly namespaceOf: (tenantKey: string) => Namespace | undefined,
    private readonly store: PresenceStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.watched.values()) clearTimeout(entry.dueTimer);
  }

  watch(socket: Socket, tenantId: string, topic: string): void {
    const key = `${tenantId}\u0000${topic}`;
    let entry = this.watched.get(key);
    if (!entry) this.watched.set(key, (entry = { tenantId, topic, watchers: new Set(), fresh: new Set(), last: null, sentAt: 0, due: null, dueTimer: undefined }));
    if (entry.watchers.has(socket)) return;
    entry.watchers.add(socket);
    entry.fresh.add(socket);
    socket.join(presenceRoom(tenantId, topic));
  }

  unwatch(socket: Socket, tenantId: string, topic: string): void {
    const key = `${tenantId}\u0000${topic}`;
    const entry = this.watched.get(key);
    if (!entry) return;
    entry.watchers.delete(socket);
    entry.fresh.delete(socket);
    socket.leave(presenceRoom(tenantId, topic));
    if (entry.watchers.size === 0) {
      clearTimeout(entry.dueTimer);
      this.watched.delete(key);
    }
  }

  /** Watching sockets, summed over topics (a metric). */
  watcherCount(): number {
    let n = 0;
    for (const entry of this.watched.values()) n += entry.watchers.size;
    return n;
  }

  watchedTopics(): number {
    return this.watched.size;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.watched.size === 0) return;
    this.ticking = true;
    try {
      const byTenant = new Map<string, Watched[]>();
      for (const entry of this.watched.values()) {
        const list = byTenant.get(entry.tenantId);
        if (list) list.push(entry);
        else byTenant.set(entry.tenantId, [entry]);
      }
      for (const [tenantId, entries] of byTenant) {
        const counts = await this.store.topicCounts(tenantId, entries.map((e) => e.topic));
        for (const entry of entries) this.publish(entry, counts.get(entry.topic) ?? { connections: 0, users: 0 });
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'presence: counts unavailable; watchers get the next change');
    } finally {
      this.ticking = false;
    }
  }

  private publish(entry: Watched, counts: PresenceCounts): void {
    const changed = entry.last === null || entry.last.connections !== counts.connections || entry.last.users !== counts.users;
    entry.due = null;
    // Ticks are an interval apart, but their reads are not equally fast: a change right
    // after a slow tick's waits for the rest of the interval (at most one per interval).
    const wait = entry.sentAt + this.intervalMs - Date.now();
    if (changed && wait <= 0) {
      this.sendChange(entry, counts);
    } else {
      if (changed) {
        entry.due = counts;
        entry.dueTimer ??= setTimeout(() => {
          entry.dueTimer = undefined;
          if (entry.due && entry.watchers.size > 0) this.sendChange(entry, entry.due);
        }, wait).unref();
      }
      const update: PresenceUpdate = { topic: entry.topic, ...counts };
      for (const socket of entry.fresh) if (entry.watchers.has(socket)) socket.emit(PRESENCE_EVENT, update);
    }
    entry.fresh.clear();
  }

  private sendChange(entry: Watched, counts: PresenceCounts): void {
    const update: PresenceUpdate = { topic: entry.topic, ...counts };
    this.namespaceOf(entry.tenantId)?.local.to(presenceRoom(entry.tenantId, entry.topic)).emit(PRESENCE_EVENT, update);
    entry.last = counts;
    entry.sentAt = Date.now();
    entry.due = null;
  }
}
