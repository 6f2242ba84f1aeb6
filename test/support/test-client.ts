/**
 * A real socket.io-client session that records what it receives and lets a test await
 * events instead of sleeping.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { WireNotification } from '../../src/store/message-codec.js';
import { Conditions } from './conditions.js';

export interface Synced {
  replayed: number;
  recovered: boolean;
}

/** Extra socket.io-client options, e.g. `extraHeaders` (X-Forwarded-For). */
export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

export class TestClient {
  readonly received: WireNotification[] = [];
  readonly synced: Synced[] = [];
  readonly errors: { code: string; message: string; retryAfterMs?: number }[] = [];
  /** The reason of the socket's disconnect, once it happened. */
  disconnectReason: string | null = null;
  private readonly conditions = new Conditions(() => JSON.stringify(this.ids));

  private constructor(readonly socket: Socket) {
    socket.on('notification', (n: WireNotification) => this.record(() => this.received.push(n)));
    socket.on('notify:synced', (s: Synced) => this.record(() => this.synced.push(s)));
    socket.on('notify:error', (e: { code: string; message: string }) => this.record(() => this.errors.push(e)));
    socket.on('disconnect', (reason) => this.record(() => (this.disconnectReason = reason)));
  }

  /** Connects and resolves after `notify:synced` (replay done). */
  static async connect(
    baseUrl: string,
    auth: { token: string; lastAckId?: string; topics?: string[]; deviceId?: string; compat?: boolean },
    transports: ('websocket' | 'polling')[] = ['websocket'],
    options: ClientOptions = {},
  ): Promise<TestClient> {
    const socket = io(baseUrl, { ...options, auth, transports, reconnection: false, forceNew: true });
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect_error', (err) => reject(err));
      socket.once('notify:synced', () => resolve());
    });
    return client;
  }

  /** Resolves with the connect_error message (the handshake must fail). */
  static async rejected(baseUrl: string, auth: Record<string, unknown>): Promise<string> {
    const socket = io(baseUrl, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      return await new Promise<string>((resolve, reject) => {
        socket.once('connect_error', (err) => resolve(err.message));
        socket.once('connect', () => reject(new Error('handshake unexpectedly accepted')));
      });
    } finally {
      socket.close();
    }
  }

  /** Resolves with the connect_error (message and data) of a handshake that must fail. */
  static async refused(baseUrl: string, auth: Record<string, unknown>, options: ClientOptions = {}): Promise<{ message: string; data: unknown }> {
    const socket = io(baseUrl, { ...options, auth, transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      return await new Promise((resolve, reject) => {
        socket.once('connect_error', (err: Error & { data?: unknown }) => resolve({ message: err.message, data: err.data }));
        socket.once('connect', () => reject(new Error('handshake unexpectedly accepted')));
      });
    } finally {
      socket.close();
    }
  }

  /** Resolves once the socket is disconnected, with the reason. */
  waitForDisconnect(timeoutMs?: number): Promise<string> {
    return this.waitFor(() => this.disconnectReason !== null, 'disconnect', timeoutMs).then(() => this.disconnectReason!);
  }

  get ids(): string[] {
    return this.received.map((n) => n.id);
  }

  waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.conditions.waitFor(predicate, what, timeoutMs);
  }

  waitForIds(ids: readonly string[], timeoutMs?: number): Promise<void> {
    return this.waitFor(() => ids.every((id) => this.ids.includes(id)), `ids ${ids.join(',')}`, timeoutMs);
  }

  waitForCount(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.received.length >= count, `${count} notifications`, timeoutMs);
  }

  ack(ids: string[]): void {
    this.socket.emit('notify:ack', { ids });
  }

  close(): void {
    this.socket.close();
  }

  private record(change: () => void): void {
    change();
    this.conditions.changed();
  }
}

/**
 * Proves a negative without sleeping blindly: sends a marker notification that the
 * client must receive, so anything sent before it has had its chance to arrive too.
 */
export async function flushWith(client: TestClient, sendMarker: () => Promise<string>): Promise<void> {
  const marker = await sendMarker();
  await client.waitForIds([marker]);
}
