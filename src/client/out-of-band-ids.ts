/**
 * Ids delivered out of band (urgent, ahead of commit order) whose in-order copy has not
 * arrived yet. That copy is what moves the resume position; when it comes it is not
 * delivered to the app a second time.
 *
 * - Kept apart from the dedupe window: a backlog of thousands of ordinary notifications
 *   may pass before the in-order copy does, and must not push the id out.
 * - Persisted in the cursor's storage, per (tenant, user), so that a reload between the
 *   two copies does not deliver the notification twice.
 * - Bounded (urgent notifications are few): past MAX_IDS the oldest is forgotten, and its
 *   in-order copy would reach the app a second time, a duplicate rather than a loss.
 */
import type { CursorStorage } from './types.js';

const MAX_IDS = 200;

export class OutOfBandIds {
  private ids: string[] = [];
  private key: string | null = null;

  constructor(private readonly storage: CursorStorage) {}

  /** Switches to the ids stored under `key` (null: a user we cannot name, memory only). */
  load(key: string | null): void {
    this.key = key;
    this.ids = key ? parseIds(this.storage.get(key)) : [];
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  add(id: string): void {
    this.ids.push(id);
    if (this.ids.length > MAX_IDS) this.ids.shift();
    this.save();
  }

  /** Forgets `id`; true when it had been delivered out of band. */
  take(id: string): boolean {
    const index = this.ids.indexOf(id);
    if (index < 0) return false;
    this.ids.splice(index, 1);
    this.save();
    return true;
  }

  private save(): void {
    if (this.key) this.storage.set(this.key, JSON.stringify(this.ids));
  }
}

function parseIds(raw: string | null): string[] {
  try {
    const value: unknown = JSON.parse(raw ?? '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(-MAX_IDS) : [];
  } catch {
    return [];
  }
}
