/**
 * A real HTTP client of GET /api/stream that records parsed events and lets a test
 * await them (no sleeps). Uses the SDK's own parser, so the wire format is checked twice.
 */
import { SseParser, type SseEvent } from '../../src/client/sse-parser.js';

export class SseSession {
  readonly events: SseEvent[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;

  private constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseSession> {
    const controller = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    const session = new SseSession(response, controller);
    if (response.ok && response.body) void session.read(response.body);
    return session;
  }

  get notificationIds(): string[] {
    return this.events.filter((e) => e.event === 'notification').map((e) => e.id!);
  }

  named(name: string): SseEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map((e) => [e.event, e.id]))}`));
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

  waitForIds(ids: readonly string[]): Promise<void> {
    return this.waitFor(() => ids.every((id) => this.notificationIds.includes(id)), `ids ${ids.join(',')}`);
  }

  waitForEnd(): Promise<void> {
    return this.waitFor(() => this.ended, 'the stream to end');
  }

  close(): void {
    this.controller.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) this.record(parser.push(decoder.decode(chunk, { stream: true })));
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.record([]);
  }

  private record(events: SseEvent[]): void {
    this.events.push(...events);
    for (const waiter of [...this.waiters]) waiter();
  }
}
