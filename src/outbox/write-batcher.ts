/**
 * WriteBatcher — group commit for concurrent notify requests.
 *
 * No fixed delay: when fewer than `maxInFlight` transactions are running, what is
 * queued is written at once (a lone request goes alone, no added latency); while
 * transactions are in flight, new requests queue up and go together in the next one.
 * So batches grow exactly when the store is the bottleneck. A batch is bounded by
 * item count and by rows (a 1000-recipient notification is 1000 inbox rows).
 * Each caller gets its own outcome; see NotificationWriter.writeBatch for isolation.
 *
 * Order: a transaction's rows take positions in queue order, but two transactions in
 * flight may take theirs in either order. Items submitted with the same `group` (the
 * items of one batch request) therefore never have two transactions in flight: a group
 * goes whole into one transaction, or, past the size bounds, in parts one after the
 * other. The queue is pumped in a microtask, so a request's items are all queued first.
 */
import type { NotificationInput, NotificationWriter, WriteResult } from './notification-writer.js';

export interface BatcherOptions {
  maxItems: number;
  maxRows: number;
  maxInFlight: number;
}

interface Pending {
  input: NotificationInput;
  group: object | undefined;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

export class WriteBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private readonly groupsInFlight = new Set<object>();
  private pumpScheduled = false;

  constructor(
    private readonly writer: NotificationWriter,
    private readonly options: BatcherOptions,
    private readonly onBatch: (size: number) => void = () => undefined,
  ) {}

  /** `group`: items that must take positions in submission order (one batch request). */
  submit(input: NotificationInput, group?: object): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, group, resolve, reject });
      if (this.pumpScheduled) return;
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // the head waits for its group's transaction
      this.inFlight += 1;
      void this.run(batch);
    }
  }

  private take(): Pending[] {
    let rows = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (pending.group && this.groupsInFlight.has(pending.group)) break;
      const size = 2 + pending.input.userIds.length; // message + outbox + inbox rows
      if (count > 0 && (count >= this.options.maxItems || rows + size > this.options.maxRows)) break;
      rows += size;
      count += 1;
    }
    const batch = this.queue.splice(0, count);
    for (const { group } of batch) if (group) this.groupsInFlight.add(group);
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    this.onBatch(batch.length);
    try {
      const outcomes = await this.writer.writeBatch(batch.map((p) => p.input));
      outcomes.forEach((outcome, i) => {
        if ('ok' in outcome) batch[i]!.resolve(outcome.ok);
        else batch[i]!.reject(outcome.error);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      for (const { group } of batch) if (group) this.groupsInFlight.delete(group);
      this.inFlight -= 1;
      this.pump();
    }
  }
}
