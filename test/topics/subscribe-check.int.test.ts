/**
 * SUBSCRIBE_CHECK_URL: a real local back end decides topics the token's claim does not
 * grant. Allow, deny (its reason passed on), down or slow (denied `check_unavailable`,
 * not cached), answers cached per (tenant, user, topic).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, signToken, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { subscribe } from '../support/topic-client.js';

type Mode = 'normal' | 'failing' | 'slow';

/** Allows topics starting with `ok:`, denies others with reason `not_member`. */
class BackEnd {
  mode: Mode = 'normal';
  readonly asked: { app: string; tenantId: string; userId: string; topic: string }[] = [];
  private server: Server | null = null;
  private held: ServerResponse[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/check`;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const question = JSON.parse(body) as BackEnd['asked'][number];
    this.asked.push(question);
    if (this.mode === 'slow') return void this.held.push(res);
    if (this.mode === 'failing') return void res.writeHead(503).end('down');
    const allow = question.topic.startsWith('ok:');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(allow ? { allow: true } : { allow: false, reason: 'not_member' }));
  }
}

const backEnd = new BackEnd();
let bed: TestBed;
let gw: RunningGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  const url = await backEnd.start();
  bed = await createTestBed();
  gw = await bed.start({ SUBSCRIBE_CHECK_URL: url, SUBSCRIBE_CHECK_TIMEOUT_MS: '300' });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await bed?.stopAll();
  await backEnd.stop();
});

async function connect(userId: string, claim: string[] = []): Promise<TestClient> {
  const client = await TestClient.connect(gw.url, { token: signToken({ sub: userId, topics: claim }) });
  clients.push(client);
  return client;
}

describe('the back end decides what the claim does not grant', () => {
  it('allow and deny, with the back end’s reason; the claim is not sent to it', async () => {
    const user = uniqueUser();
    const client = await connect(user, ['claimed:*']);
    const before = backEnd.asked.length;
    const ack = await subscribe(client, ['ok:1', 'secret:1', 'claimed:1']);
    expect(ack).toEqual({ granted: ['ok:1', 'claimed:1'], denied: [{ topic: 'secret:1', reason: 'not_member' }] });
    const asked = backEnd.asked.slice(before);
    expect(asked.map((q) => q.topic).sort()).toEqual(['ok:1', 'secret:1']);
    expect(asked[0]).toMatchObject({ app: 'default', tenantId: 'default', userId: user });
  });

  it('answers are cached: asking again does not reach the back end', async () => {
    const user = uniqueUser();
    const first = await connect(user);
    await subscribe(first, ['ok:cached', 'no:cached']);
    const before = backEnd.asked.length;
    const second = await connect(user);
    expect(await subscribe(second, ['ok:cached', 'no:cached'])).toEqual({
      granted: ['ok:cached'],
      denied: [{ topic: 'no:cached', reason: 'not_member' }],
    });
    expect(backEnd.asked.length).toBe(before);
  });

  it('back end failing or too slow → denied check_unavailable, and asked again later', async () => {
    const user = uniqueUser();
    const client = await connect(user);
    backEnd.mode = 'failing';
    expect(await subscribe(client, ['ok:down'])).toEqual({ granted: [], denied: [{ topic: 'ok:down', reason: 'check_unavailable' }] });
    backEnd.mode = 'slow';
    const started = Date.now();
    expect(await subscribe(client, ['ok:slow'])).toEqual({ granted: [], denied: [{ topic: 'ok:slow', reason: 'check_unavailable' }] });
    expect(Date.now() - started).toBeLessThan(3000);
    backEnd.mode = 'normal';
    expect(await subscribe(client, ['ok:down', 'ok:slow'])).toEqual({ granted: ['ok:down', 'ok:slow'], denied: [] });
  });

  it('back end unreachable → check_unavailable', async () => {
    const other = new BackEnd();
    const url = await other.start();
    await other.stop(); // nothing listens there any more
    const gone = await bed.start({ SUBSCRIBE_CHECK_URL: url });
    const client = await TestClient.connect(gone.url, { token: signToken({ sub: uniqueUser() }) });
    clients.push(client);
    expect(await subscribe(client, ['ok:1'])).toEqual({ granted: [], denied: [{ topic: 'ok:1', reason: 'check_unavailable' }] });
  });
});
