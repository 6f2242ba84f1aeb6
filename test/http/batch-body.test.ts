/**
 * The batch body parsed item by item (src/http/batch-body.ts) gives what express.json and
 * the input rules give for the whole body: the same value, the same refusals.
 */
import { describe, expect, it } from 'vitest';
import { parseBatch, splitItems } from '../../src/http/batch-body.js';
import { assertJsonInputRules } from '../../src/http/json-guard.js';

/** What jsonBody yields for `text`: the value, or the error's kind. */
function reference(text: string): unknown {
  if (text.trim() === '') return {};
  const first = text.trim()[0];
  if (first !== '{' && first !== '[') return { refused: 'INVALID_JSON' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { refused: 'INVALID_JSON' };
  }
  try {
    assertJsonInputRules(body);
  } catch (error) {
    return { refused: 'VALIDATION_FAILED', message: (error as Error).message };
  }
  return body;
}

async function sliced(text: string): Promise<unknown> {
  try {
    return await parseBatch(Buffer.from(text));
  } catch (error) {
    const e = error as { type?: string; code?: string; message: string };
    if (e.type === 'entity.parse.failed') return { refused: 'INVALID_JSON' };
    return { refused: e.code, message: e.message };
  }
}

const item = (i: number) => ({ kind: 'a:b', userIds: ['u1', `ü-${i}`, '日本'], title: `t "${i}" \\ ,]}`, data: { nested: [{ x: [i] }] } });

describe('batch body', () => {
  it.each([
    ['the usual shape', JSON.stringify({ notifications: [item(1), item(2), item(3)] })],
    ['whitespace everywhere', ` \n{ "notifications" :\t[ ${JSON.stringify(item(1))} ,\r\n ${JSON.stringify(item(2))} ] } \n`],
    ['an empty list', '{"notifications":[]}'],
    ['scalars and nested arrays as items', '{"notifications":[1,"x,]",[1,[2]],null,true,{"a":"}"}]}'],
    ['another key (parsed whole)', '{"notifications":[{"kind":"a:b"}],"extra":1}'],
    ['the key escaped (parsed whole)', '{"notific\\u0061tions":[{"kind":"a:b"}]}'],
    ['an array body (parsed whole)', '[{"kind":"a:b"}]'],
    ['an empty body', ''],
    ['an object shorter than the key (parsed whole)', '{}'],
    ['a BOM', '\ufeff{"notifications":[{"kind":"a:b"}]}'],
  ])('%s: same value', async (_what, text) => {
    expect(await sliced(text)).toEqual(reference(text.replace(/^\ufeff/, '')));
  });

  it.each([
    ['a syntax error in an item', '{"notifications":[{"kind":"a:b"},{"kind":}]}'],
    ['a missing bracket', '{"notifications":[{"kind":"a:b"}'],
    ['trailing data', '{"notifications":[]} x'],
    ['an unterminated string', '{"notifications":[{"kind":"a:b]}'],
    ['a scalar body', '"notifications"'],
    ['a syntax error after a rule breach', '{"notifications":[{"data":{"__proto__":1}},{"kind":}]}'],
  ])('%s: refused as invalid JSON', async (_what, text) => {
    expect(await sliced(text)).toEqual({ refused: 'INVALID_JSON' });
    expect(reference(text)).toEqual({ refused: 'INVALID_JSON' });
  });

  it.each([
    ['a __proto__ key in item 2', `{"notifications":[${JSON.stringify(item(0))},${JSON.stringify(item(1))},{"kind":"a:b","data":{"__proto__":{}}}]}`],
    ['a lone surrogate', '{"notifications":[{"kind":"a:b"},{"title":"x\\ud800"}]}'],
    ['nesting past 32 levels in item 1', `{"notifications":[{"kind":"a:b"},{"data":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}]}`],
    ['nesting of exactly 32 levels (accepted)', `{"notifications":[{"data":${'{"a":'.repeat(29)}1${'}'.repeat(29)}}]}`],
  ])('%s: the same refusal, naming the same path', async (_what, text) => {
    expect(await sliced(text)).toEqual(reference(text));
  });

  it('splits on item boundaries only', () => {
    const text = '{"notifications":[{"a":"[,]"},[1,2] , "x\\"y" ]}';
    const spans = splitItems(Buffer.from(text))!;
    expect(spans.map(([from, to]) => text.slice(from, to))).toEqual(['{"a":"[,]"}', '[1,2]', '"x\\"y"']);
    expect(splitItems(Buffer.from('{"notifications":[1,]}'))).toBeNull();
  });
});
