/**
 * Awaiting a condition over state that event handlers record, without sleeping: a
 * waiter re-checks its predicate each time the owner calls `changed()`.
 */
export class Conditions {
  private waiters: (() => void)[] = [];

  /** `state()` describes what was recorded, for the timeout message. */
  constructor(private readonly state: () => string) {}

  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; got ${this.state()}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
