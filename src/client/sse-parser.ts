/**
 * An incremental text/event-stream parser (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 * The SDK reads SSE through fetch() rather than EventSource so it can send the token as
 * a header, see 401s, and set Last-Event-ID itself; this turns the byte chunks into events.
 */

export interface SseEvent {
  event: string;
  data: string;
  /** The id field of this event, if it had one (an empty `id:` resets it to ""). */
  id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private sawCr = false;
  retryMs: number | undefined;

  /** Feeds decoded text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    for (const char of text) {
      // A CRLF pair is one line end: skip the LF that follows a CR.
      if (this.sawCr && char === '\n') {
        this.sawCr = false;
        continue;
      }
      this.sawCr = char === '\r';
      if (char === '\r' || char === '\n') {
        const done = this.line(this.buffer);
        if (done) events.push(done);
        this.buffer = '';
      } else {
        this.buffer += char;
      }
    }
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null; // a comment, e.g. the heartbeat
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\u0000')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }

  private dispatch(): SseEvent | null {
    const event: SseEvent = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
    const hadData = this.data.length > 0;
    this.event = '';
    this.data = [];
    this.id = undefined;
    return hadData ? event : null;
  }
}
