/**
 * The input rules every JSON body obeys (README "Input rules", src/http/json-guard.ts)
 * and paths that are not valid percent-encoding, over real HTTP: each refusal is a 400
 * VALIDATION_FAILED in the catalogue shape, naming the path, and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, postNotify, uniqueUser, userToken, type NotifyResponse } from '../support/harness.js';
import { countRows } from '../support/store-probe.js';

const suite = useGateway();

/** Messages and inbox rows (the outbox is pruned by the relay after earlier tests' writes). */
async function written() {
  const { messages, inbox } = await countRows(suite.gw.gateway.store.db);
  return { messages, inbox };
}

/** A raw JSON text with `levels` nested objects `{"a":…}` as data; built as text, never recursively. */
const deepData = (levels: number) => `{"userId":"a","title":"t","data":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;

async function expectRefused(res: NotifyResponse, path?: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String) });
  if (path !== undefined) expect(res.body.error!.details).toEqual([expect.objectContaining({ path })]);
}

async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<NotifyResponse> {
  const response = await fetch(`${suite.gw.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    ...(body !== undefined && { body }),
  });
  return { status: response.status, body: (await response.json()) as NotifyResponse['body'], headers: response.headers };
}

describe('nesting depth', () => {
  it('refuses a data object nested 10,000 levels with 400 (was a 500 from a stack overflow), writing nothing', async () => {
    const before = await written();
    const res = await postNotify(suite.gw.url, 'task:completed', null, { raw: deepData(10_000) });
    await expectRefused(res, ['data', ...Array(31).fill('a')].join('.'));
    expect(res.body.error!.message).toContain('nested deeper than 32 levels');
    expect(await written()).toEqual(before);
  });

  it('refuses arrays nested to the whole 64 KB (32,000 levels) the same way', async () => {
    const raw = `{"userId":"a","title":"t","data":{"x":${'['.repeat(32_000)}${']'.repeat(32_000)}}}`;
    await expectRefused(await postNotify(suite.gw.url, 'task:completed', null, { raw }));
  });

  it('accepts a body exactly 32 levels deep and refuses 33', async () => {
    // The body is level 1, data level 2: deepData(n) is n + 1 levels deep.
    const ok = await postNotify(suite.gw.url, 'task:completed', null, { raw: deepData(31).replace('"a"', `"${uniqueUser()}"`) });
    expect(ok.status).toBe(201);
    await expectRefused(await postNotify(suite.gw.url, 'task:completed', null, { raw: deepData(32) }));
  });

  it('applies to the batch endpoint, whose body is parsed separately', async () => {
    const item = deepData(5_000).slice(1, -1);
    const res = await send('POST', '/api/notify', `{"notifications":[{"kind":"task:completed",${item}}]}`);
    await expectRefused(res, ['notifications', '0', 'data', ...Array(29).fill('a')].join('.'));
  });
});

describe('__proto__, constructor and prototype keys', () => {
  it.each([
    ['__proto__', '{"__proto__":{"isAdmin":true}}', 'data.__proto__'],
    ['constructor', '{"ok":1,"nested":{"constructor":{"prototype":1}}}', 'data.nested.constructor'],
    ['prototype', '{"list":[{"a":1},{"prototype":2}]}', 'data.list.1.prototype'],
  ])('refuses %s inside data, naming the key path (they were silently dropped)', async (_key, data, path) => {
    const before = await written();
    const res = await postNotify(suite.gw.url, 'task:completed', null, { raw: `{"userId":"${uniqueUser()}","title":"t","data":${data}}` });
    await expectRefused(res, path);
    expect(res.body.error!.message).toContain(path);
    expect(await written()).toEqual(before);
  });

  it('refuses them in batch items and in other JSON bodies too', async () => {
    const batch = await send('POST', '/api/notify', '{"notifications":[{"kind":"a:b","userId":"u","title":"t","data":{"__proto__":{}}}]}');
    await expectRefused(batch, 'notifications.0.data.__proto__');
    const recipient = await send('PUT', `/api/recipients/${uniqueUser()}`, '{"email":"a@example.com","constructor":{}}');
    await expectRefused(recipient, 'constructor');
  });

  it('keeps them as ordinary values and inside longer keys', async () => {
    const res = await postNotify(suite.gw.url, 'task:completed', { userId: uniqueUser(), title: 'constructor', data: { kind: '__proto__', prototypeId: 1 } });
    expect(res.status).toBe(201);
  });
});

describe('lone UTF-16 surrogates', () => {
  it.each([
    ['title', '"title":"Build \\ud800 finished"', 'title'],
    ['body', '"title":"t","body":"tail \\udfff"', 'body'],
    ['a data value', '"title":"t","data":{"note":["ok","\\udbff"]}', 'data.note.1'],
    ['a data key', '"title":"t","data":{"k\\udc00":1}', 'data.k\ufffd'],
  ])('refuses one in %s with 400 naming it (it was stored altered)', async (_where, fields, path) => {
    const before = await written();
    const res = await postNotify(suite.gw.url, 'task:completed', null, { raw: `{"userId":"${uniqueUser()}",${fields}}` });
    await expectRefused(res, path);
    expect(res.body.error!.message).toContain('lone UTF-16 surrogate');
    expect(await written()).toEqual(before);
  });

  it('keeps a well-formed surrogate pair exactly as sent', async () => {
    const user = uniqueUser();
    const res = await postNotify(suite.gw.url, 'task:completed', null, {
      raw: `{"userId":"${user}","title":"Ship it \\ud83d\\ude80","data":{"\\ud83d\\ude00":"\\ud83d\\udc4d"}}`,
    });
    expect(res.status).toBe(201);
    const list = await fetch(`${suite.gw.url}/api/notifications`, { headers: { authorization: `Bearer ${userToken(user)}` } });
    const { items } = (await list.json()) as { items: { title: string; data: unknown }[] };
    expect(items).toEqual([expect.objectContaining({ title: 'Ship it 🚀', data: { '😀': '👍' } })]);
  });
});

describe('paths that are not valid percent-encoding', () => {
  it.each([
    ['POST', '/api/notify/%E0%A4%A', '{"userId":"a","title":"t"}'],
    ['POST', '/api/notifications/%E0%A4%A/read', undefined],
    ['GET', '/api/notifications/%E0%A4%A', undefined],
    ['GET', '/api/channels/%E0%A4%A', undefined],
    ['DELETE', '/api/recipients/%FF', undefined],
    ['GET', '/nowhere/%C0', undefined],
  ])('%s %s → 400 VALIDATION_FAILED (was 500 where a route matched)', async (method, path, body) => {
    const res = await send(method, path, body, { authorization: `Bearer ${userToken('u')}` });
    await expectRefused(res);
    expect(res.body.error!.message).toBe('the path is not valid percent-encoded UTF-8');
  });

  it('still decodes valid encodings', async () => {
    const res = await send('GET', '/api/channels/%61bc');
    expect(res.status).toBe(404);
    expect(res.body.error!.code).toBe('NOT_FOUND');
  });
});
