/** The WeCom request body: text or markdown, where mentions go, and byte-exact cutting. */
import { TextDecoder } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Mentions } from '../../../src/delivery/channel.js';
import {
  MARKDOWN_CONTENT_LIMIT_BYTES,
  TEXT_CONTENT_LIMIT_BYTES,
  buildWecomBody,
  hasMarkdown,
  truncateUtf8,
  type WecomMessageInput,
  type WecomRequestBody,
} from '../../../src/delivery/wecom/wecom-message.js';

const message = (over: Partial<WecomMessageInput> = {}): WecomMessageInput => ({
  title: 'Build failed',
  body: null,
  link: null,
  mentions: null,
  ...over,
});
const mentions = (over: Partial<Mentions> = {}): Mentions => ({ userIds: [], mobiles: [], all: false, ...over });
const contentOf = (body: WecomRequestBody) => (body.msgtype === 'text' ? body.text.content : body.markdown.content);
const bytes = (text: string) => Buffer.byteLength(text);

/** Throws on anything that is not well-formed UTF-16 / UTF-8. */
function expectWellFormed(text: string) {
  expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  const encoded = Buffer.from(text, 'utf8');
  expect(new TextDecoder('utf-8', { fatal: true }).decode(encoded)).toBe(text);
}

describe('markdown or text', () => {
  it.each([
    ['**bold**', true],
    ['# Heading', true],
    ['text\n### Heading', true],
    ['see [the run](https://ci.example/1)', true],
    ['> quoted line', true],
    ['run `npm test`', true],
    ['```\ncode\n```', true],
    ['<font color="warning">3</font> failed', true],
    ['plain text, 2 * 3 = 6', false],
    ['#hashtag and issue #12', false],
    ['a > b and c < d', false],
    ['https://example.com/a_b', false],
  ])('%j is markdown: %s', (text, expected) => {
    expect(hasMarkdown(text)).toBe(expected);
  });

  it('a message without a body (privacy-safe default) is text, with its link', () => {
    const body = buildWecomBody(message({ link: 'https://app.example/n/1' }));
    expect(body).toEqual({ msgtype: 'text', text: { content: 'Build failed\nhttps://app.example/n/1' } });
  });

  it('a plain body is text: title, body, link, one per line', () => {
    const body = buildWecomBody(message({ body: 'job 42 failed on main', link: 'https://app.example/n/1' }));
    expect(body).toEqual({ msgtype: 'text', text: { content: 'Build failed\njob 42 failed on main\nhttps://app.example/n/1' } });
  });

  it('a markdown body is markdown, the link included as a markdown link', () => {
    const body = buildWecomBody(message({ body: '**job 42** failed', link: 'https://app.example/n/(1)' }));
    expect(body.msgtype).toBe('markdown');
    expect(contentOf(body)).toBe('Build failed\n**job 42** failed\n[https://app.example/n/%281%29](https://app.example/n/%281%29)');
  });
});

describe('mentions', () => {
  it('text: user ids in mentioned_list, mobiles in mentioned_mobile_list', () => {
    const body = buildWecomBody(message({ body: 'plain', mentions: mentions({ userIds: ['zhangsan', 'lisi'], mobiles: ['13800001111'] }) }));
    expect(body).toEqual({
      msgtype: 'text',
      text: { content: 'Build failed\nplain', mentioned_list: ['zhangsan', 'lisi'], mentioned_mobile_list: ['13800001111'] },
    });
  });

  it('text: all adds "@all" to mentioned_list', () => {
    const body = buildWecomBody(message({ mentions: mentions({ userIds: ['zhangsan'], all: true }) }));
    expect(body.msgtype === 'text' && body.text.mentioned_list).toEqual(['zhangsan', '@all']);
    expect(body.msgtype === 'text' && body.text.mentioned_mobile_list).toBeUndefined();
  });

  it('no mentions: no mention fields at all', () => {
    const body = buildWecomBody(message({ mentions: mentions() }));
    expect(body).toEqual({ msgtype: 'text', text: { content: 'Build failed' } });
  });

  it('markdown: user ids as <@userid> appended to the content, no mention fields', () => {
    const body = buildWecomBody(message({ body: '# Deploy\ndone', mentions: mentions({ userIds: ['zhangsan', 'lisi'] }) }));
    expect(body).toEqual({ msgtype: 'markdown', markdown: { content: 'Build failed\n# Deploy\ndone\n<@zhangsan> <@lisi>' } });
  });

  it('markdown body with mobiles is sent as text, so the mobile mention works', () => {
    const body = buildWecomBody(message({ body: '**urgent**', mentions: mentions({ userIds: ['zhangsan'], mobiles: ['13800001111'] }) }));
    expect(body).toEqual({
      msgtype: 'text',
      text: { content: 'Build failed\n**urgent**', mentioned_list: ['zhangsan'], mentioned_mobile_list: ['13800001111'] },
    });
  });

  it('markdown body with all is sent as text with "@all"', () => {
    const body = buildWecomBody(message({ body: '**urgent**', mentions: mentions({ all: true }) }));
    expect(body).toEqual({ msgtype: 'text', text: { content: 'Build failed\n**urgent**', mentioned_list: ['@all'] } });
  });
});

describe('byte limits', () => {
  const chinese = '企业微信通知'.repeat(200); // 3 bytes a character
  const emoji = '🚀👨‍👩‍👧✅'.repeat(200); // surrogate pairs and a ZWJ sequence

  it.each([
    ['ASCII', 'x'.repeat(5000)],
    ['Chinese', chinese],
    ['emoji', emoji],
    ['mixed', `a${chinese}b${emoji}`],
  ])('%s text is cut within the limit, on a character boundary, ending in …', (_name, body) => {
    const content = contentOf(buildWecomBody(message({ body })));
    expect(bytes(content)).toBeLessThanOrEqual(TEXT_CONTENT_LIMIT_BYTES);
    expect(bytes(content)).toBeGreaterThan(TEXT_CONTENT_LIMIT_BYTES - 30); // cut, not emptied
    expect(content.endsWith('…')).toBe(true);
    expectWellFormed(content);
  });

  it('markdown is cut at 4096 bytes, not 2048', () => {
    const content = contentOf(buildWecomBody(message({ body: `**${chinese}${chinese}**` })));
    expect(bytes(content)).toBeLessThanOrEqual(MARKDOWN_CONTENT_LIMIT_BYTES);
    expect(bytes(content)).toBeGreaterThan(TEXT_CONTENT_LIMIT_BYTES);
    expectWellFormed(content);
  });

  it('the body is what gets cut: the link and the <@userid> mentions survive whole', () => {
    const link = 'https://app.example/notifications/0190f3a2';
    const text = contentOf(buildWecomBody(message({ body: chinese, link })));
    expect(text.endsWith(`…\n${link}`)).toBe(true);
    expect(bytes(text)).toBeLessThanOrEqual(TEXT_CONTENT_LIMIT_BYTES);

    const markdown = contentOf(buildWecomBody(message({ body: `**${chinese.repeat(3)}**`, link, mentions: mentions({ userIds: ['zhangsan'] }) })));
    expect(markdown.endsWith(`\n[${link}](${link})\n<@zhangsan>`)).toBe(true);
    expect(bytes(markdown)).toBeLessThanOrEqual(MARKDOWN_CONTENT_LIMIT_BYTES);
    expectWellFormed(markdown);
  });

  it('text that fits is left alone', () => {
    expect(truncateUtf8('企业微信🚀', 100)).toBe('企业微信🚀');
  });

  it('never splits a character, at every limit', () => {
    const text = `ab企业🚀👨‍👩‍👧c`;
    for (let limit = 0; limit <= bytes(text) + 1; limit++) {
      const cut = truncateUtf8(text, limit);
      expect(bytes(cut)).toBeLessThanOrEqual(limit);
      expectWellFormed(cut);
      // What is kept before the … is a prefix of the original.
      expect(text.startsWith(cut.replace(/…$/, ''))).toBe(true);
    }
  });

  it('keeps a composed emoji whole or drops it whole', () => {
    const family = '👨‍👩‍👧';
    const cut = truncateUtf8(`x${family}y`, bytes(`x${family}`)); // one byte short of the whole
    expect(cut).toBe('x…');
  });

  it('lone surrogates in the input become U+FFFD, never invalid UTF-8', () => {
    const broken = `ok\uD83Dmid\uDE80${'z'.repeat(3000)}`;
    const content = contentOf(buildWecomBody(message({ body: broken })));
    expectWellFormed(content);
    expect(content).toContain('ok\uFFFDmid\uFFFD');
  });
});
