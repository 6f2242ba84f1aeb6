/**
 * State changes made on one instance are echoed to the user's sessions on another:
 * sockets through the Redis adapter's user room, SSE streams through the echo's
 * server-side event on the same adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conditions } from '../support/conditions.js';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { SseSession } from './sse-session.js';

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;
const closers: (() => void)[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  a = await bed.start();
  b = await bed.start();
});
afterAll(async () => {
  for (const close of closers) close();
  await bed.stopAll();
});

const post = (url: string, path: string, token: string, body?: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('state echo across instances', () => {
  it('a change made through A reaches the user’s socket and SSE stream on B', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    const socket = await TestClient.connect(b.url, { token });
    closers.push(() => socket.close());
    const heard: [string, unknown][] = [];
    const conditions = new Conditions(() => JSON.stringify(heard));
    for (const name of ['notification:seen', 'notification:archived', 'notification:read']) {
      socket.socket.on(name, (change: unknown) => {
        heard.push([name, change]);
        conditions.changed();
      });
    }
    const sse = await SseSession.open(`${b.url}/api/stream`, { authorization: `Bearer ${token}` });
    closers.push(() => sse.close());
    await sse.waitFor(() => sse.named('synced').length > 0, 'SSE synced');
    const id = await notifyUser(a.url, user, 'changed elsewhere');
    await socket.waitForIds([id]);

    expect((await post(a.url, '/api/notifications/seen', token, { ids: [id] })).status).toBe(200);
    expect((await post(a.url, `/api/notifications/${id}/archive`, token)).status).toBe(200);
    expect((await post(a.url, `/api/notifications/${id}/read`, token)).status).toBe(200);

    await conditions.waitFor(() => heard.length === 3, 'three echoes on the socket');
    expect(heard).toEqual([
      ['notification:seen', { ids: [id] }],
      ['notification:archived', { ids: [id], archived: true }],
      ['notification:read', { ids: [id] }],
    ]);
    await sse.waitFor(() => sse.named('read').length === 1, 'the read echo over SSE');
    expect(sse.named('notification:seen').map((e) => JSON.parse(e.data))).toEqual([{ ids: [id] }]);
    expect(sse.named('notification:archived').map((e) => JSON.parse(e.data))).toEqual([{ ids: [id], archived: true }]);
  });
});
