import type { ConsumerLease } from './consumer-lease.js';

/** Embedded mode runs one process against one SQLite file: it is always the relay. */
export class LocalLease implements ConsumerLease {
  private held = true;
  async tryAcquire(): Promise<boolean> {
    return this.held;
  }
  isHeld(): boolean {
    return this.held;
  }
  onLost(): void {}
  async release(): Promise<void> {
    this.held = false;
  }
}
