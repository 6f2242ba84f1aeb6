/**
 * A real HTTP client of GET /api/stream that records parsed events and lets a test
 * await them (no sleeps). Uses the SDK's own parser, so the wire format is checked twice.
 */
import { SseParser, type SseEvent } from '../../src/client/sse-parser.js';
import { Conditions } from '../support/conditions.js';

export class SseSession {
  readonly events: SseEvent[] = [];
  private readonly conditions = new Conditions(() => JSON.stringify(this.events.map((e) => [e.event, e.id])));
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
    return this.conditions.waitFor(predicate, what, timeoutMs);
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
    this.conditions.changed();
  }
}
