/**
 * A Socket.IO session that behaves like the SDK: it reconnects on its own, hands the
 * server `{ token, lastAckId }` on every handshake (lastAckId = the last new id it
 * received), and drops duplicates by id. It records what it saw for the assertions:
 * first arrivals in order, duplicates, reconnects.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { WireNotification } from '../../../src/store/message-codec.js';

export interface Arrival {
  id: string;
  at: number;
}

export class ReconnectingClient {
  readonly arrivals: Arrival[] = [];
  readonly seen = new Set<string>();
  duplicates = 0;
  connects = 0;
  disconnects: string[] = [];
  syncs: { replayed: number; recovered: boolean }[] = [];
  errors: string[] = [];
  /** Connection events with their time, to explain a missing notification. */
  readonly log: { at: number; event: string }[] = [];
  lastAckId: string | undefined;
  readonly socket: Socket;
  private listeners = new Set<() => void>();
  private closed = false;

  constructor(
    readonly label: string,
    url: string,
    token: string,
    transport: 'websocket' | 'polling',
    extra: Partial<ManagerOptions & SocketOptions> = {},
  ) {
    this.socket = io(url, {
      transports: [transport],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      // Called on every (re)connect: resume after the last notification seen.
      auth: (cb) => cb(this.lastAckId ? { token, lastAckId: this.lastAckId } : { token }),
      ...extra,
    });
    this.socket.on('connect', () => {
      this.connects++;
      this.note(`connect (lastAckId ${this.lastAckId ?? 'none'})`);
    });
    this.socket.on('notification', (n: WireNotification) => {
      if (this.seen.has(n.id)) {
        this.duplicates++;
        return;
      }
      this.seen.add(n.id);
      this.arrivals.push({ id: n.id, at: Date.now() });
      this.lastAckId = n.id;
      this.changed();
    });
    this.socket.on('notify:synced', (info: { replayed: number; recovered: boolean }) => {
      this.syncs.push(info);
      this.note(`synced replayed=${info.replayed} recovered=${info.recovered}`);
      this.changed();
    });
    this.socket.on('notify:error', (e: { code: string }) => this.errors.push(e.code));
    this.socket.on('disconnect', (reason) => {
      this.disconnects.push(reason);
      this.note(`disconnect: ${reason}`);
      // The server closed this session on purpose (e.g. shutdown, replay failed):
      // socket.io-client leaves that to the app, and the SDK reconnects.
      if (reason === 'io server disconnect' && !this.closed) this.socket.connect();
    });
    this.socket.on('connect_error', (error) => {
      // Refused by middleware (not a transport failure): no automatic retry.
      if (!this.socket.active && !this.closed) {
        this.errors.push(`connect_error: ${error.message}`);
        setTimeout(() => !this.closed && this.socket.connect(), 250);
      }
    });
  }

  get ids(): string[] {
    return this.arrivals.map((a) => a.id);
  }

  /** Resolves once `predicate` holds, re-checked on every arrival and sync. */
  until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label}: timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  synced(timeoutMs = 15_000): Promise<void> {
    return this.until(() => this.syncs.length > 0, 'notify:synced', timeoutMs);
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }

  private note(event: string): void {
    this.log.push({ at: Date.now(), event });
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
