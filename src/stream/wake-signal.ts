/**
 * A wake-up that is never lost: `raise` during a wait ends it; `raise` between waits is
 * remembered, and the next consuming wait returns at once. Loops that sleep until there
 * is work (stream consumers, delivery workers) share it.
 */
export class WakeSignal {
  private raised = false;
  private waiter: (() => void) | null = null;

  /** Marks a wake-up; with `interrupt` false a wait in progress runs on (the mark stays). */
  raise(interrupt = true): void {
    this.raised = true;
    if (interrupt) this.waiter?.();
  }

  /** Up to `ms`, or until raised. `consume`: a mark raised before returns at once and is used up. */
  wait(ms: number, consume = true): Promise<void> {
    if (consume && this.raised) {
      this.raised = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiter = null;
        if (consume) this.raised = false;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.waiter = done;
    });
  }
}
