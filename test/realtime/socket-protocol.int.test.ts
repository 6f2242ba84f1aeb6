/**
 * The client → server protocol is closed: unknown events and malformed payloads get a
 * `notify:error` and the session carries on; a packet over the 16 KB limit ends the
 * connection without taking the server down.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SOCKET_PACKET_BYTES } from '../../src/gateway.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { TestClient, flushWith } from '../support/test-client.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();
const connect = suite.connect;

async function session() {
  const user = uniqueUser();
  return { user, client: await connect(suite.gw.url, { token: userToken(user) }) };
}

/** The session still works end to end: a new notification arrives. */
async function stillLive(client: TestClient, user: string): Promise<void> {
  expect(client.socket.connected).toBe(true);
  await flushWith(client, () => notifyUser(suite.gw.url, user, 'still there?'));
}

function nextError(client: TestClient) {
  const seen = client.errors.length;
  return client.waitFor(() => client.errors.length > seen, 'notify:error').then(() => client.errors[seen]!);
}

function disconnected(client: TestClient): Promise<string> {
  return new Promise((resolve) => client.socket.once('disconnect', (reason) => resolve(reason)));
}

describe('unknown client events', () => {
  it.each(['notify:subscribe', 'notification', 'notify:synced', 'hello'])('"%s" → notify:error UNKNOWN_EVENT, still connected', async (event) => {
    const { user, client } = await session();
    const error = nextError(client);
    client.socket.emit(event, { ids: ['x'] });
    expect(await error).toEqual({ code: 'UNKNOWN_EVENT', message: expect.stringContaining(event) });
    await stillLive(client, user);
  });
});

describe('malformed notify:ack', () => {
  const payloads: [string, unknown[]][] = [
    ['no payload', []],
    ['a string', ['01900000-0000-7000-8000-000000000000']],
    ['ids is a string', [{ ids: 'abc' }]],
    ['ids is empty', [{ ids: [] }]],
    ['ids holds a number', [{ ids: [42] }]],
    ['ids holds an empty string', [{ ids: [''] }]],
    ['an id of 65 characters', [{ ids: ['x'.repeat(65)] }]],
    ['501 ids', [{ ids: Array.from({ length: 501 }, (_, i) => `id-${i}`) }]],
    ['an unknown field', [{ ids: ['a'], all: true }]],
    ['null', [null]],
  ];

  it.each(payloads)('%s → notify:error VALIDATION_FAILED, still connected', async (_name, args) => {
    const { user, client } = await session();
    const error = nextError(client);
    client.socket.emit('notify:ack', ...args);
    expect(await error).toEqual({ code: 'VALIDATION_FAILED', message: expect.any(String) });
    await stillLive(client, user);
  });

  it('a well-formed ack produces no error', async () => {
    const { user, client } = await session();
    const id = await notifyUser(suite.gw.url, user, 'ack me');
    await client.waitForIds([id]);
    client.ack([id]);
    await stillLive(client, user);
    expect(client.errors).toEqual([]);
  });
});

describe('oversized packets', () => {
  it.each(['websocket', 'polling'] as const)('a packet over 16 KB ends the %s session; the server keeps serving', async (transport) => {
    const user = uniqueUser();
    const client = await connect(suite.gw.url, { token: userToken(user) }, [transport]);
    await stillLive(client, user); // both transports carry notifications before the limit is hit
    const gone = disconnected(client);
    client.socket.emit('notify:ack', { ids: ['x'.repeat(MAX_SOCKET_PACKET_BYTES + 1024)] });
    expect(await gone).toMatch(/^transport (close|error)$/);
    expect(client.socket.connected).toBe(false);
    expect(client.errors).toEqual([]);

    const other = await session();
    await stillLive(other.client, other.user);
  });

  it('a packet just under the limit is read (and refused as a bad ack, not dropped)', async () => {
    const { user, client } = await session();
    const error = nextError(client);
    client.socket.emit('notify:ack', { ids: ['x'.repeat(MAX_SOCKET_PACKET_BYTES - 1024)] });
    expect(await error).toMatchObject({ code: 'VALIDATION_FAILED' });
    await stillLive(client, user);
  });
});
