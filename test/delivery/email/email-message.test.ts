/** The email's subject, text and HTML parts: escaping, links, and the body's privacy rule. */
import { describe, expect, it } from 'vitest';
import { buildEmailMessage, escapeHtml, FALLBACK_SUBJECT, safeLink, subjectOf } from '../../../src/delivery/email/email-message.js';

const base = { title: 'Build finished', body: null, link: null };

describe('subject', () => {
  it('is the title on one trimmed line, whatever line breaks or controls it holds', () => {
    expect(subjectOf('  Deploy\r\nBcc: evil@x.test\tdone\u2028now  ')).toBe('Deploy Bcc: evil@x.test done now');
    expect(subjectOf('a\u0000\u0085b')).toBe('a b');
    expect(buildEmailMessage({ ...base, title: 'Line 1\nLine 2' }).subject).toBe('Line 1 Line 2');
  });

  it('falls back when the title is only whitespace, and mends lone surrogates', () => {
    expect(subjectOf(' \r\n\t ')).toBe(FALLBACK_SUBJECT);
    expect(subjectOf('ok \uD800')).toBe('ok \uFFFD');
    expect(subjectOf('Größe 🚚')).toBe('Größe 🚚');
  });
});

describe('parts', () => {
  it('has a text part and an HTML part, both carrying the title', () => {
    const { text, html } = buildEmailMessage(base);
    expect(text).toBe('Build finished\n');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<title>Build finished</title>');
    expect(html).toContain('>Build finished</h1>');
  });

  it('shows the body only when it is non-null (null unless the notification is external: "full")', () => {
    const without = buildEmailMessage({ ...base, body: null });
    expect(without.text).not.toContain('<p');
    expect(without.html).not.toContain('<p');

    const { text, html } = buildEmailMessage({ ...base, body: 'First line\r\nsecond line\n\nNext paragraph' });
    expect(text).toBe('Build finished\n\nFirst line\nsecond line\n\nNext paragraph\n');
    expect(html).toContain('>First line<br>second line</p>');
    expect(html).toContain('>Next paragraph</p>');
  });

  it('escapes every text it shows: a <script> title or body stays text', () => {
    const { subject, text, html } = buildEmailMessage({
      title: '<script>alert(1)</script> & "quotes"',
      body: `<img src=x onerror=alert(1)> it's <b>bold</b>`,
      link: 'https://app.example.com/a?x=1&y="2"',
    });
    expect(subject).toBe('<script>alert(1)</script> & "quotes"'); // a header, not HTML
    expect(text).toContain('<script>alert(1)</script>'); // plain text is never rendered
    expect(html).not.toMatch(/<script|<img|<b>|onerror=alert\(1\)>/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; it&#39;s &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('href="https://app.example.com/a?x=1&amp;y=%222%22"');
  });

  it('has no remote images, scripts or external styles', () => {
    const { html } = buildEmailMessage({ ...base, body: 'b', link: 'https://app.example.com/x' });
    expect(html).not.toMatch(/<img|<script|<link|<style|@import|url\(|src=/i);
  });

  it('sets the HTML lang from a valid locale only', () => {
    expect(buildEmailMessage(base, { locale: 'zh_CN' }).html).toContain('<html lang="zh-CN">');
    expect(buildEmailMessage(base, { locale: 'en" onload="x' }).html).toContain('<html>');
    expect(buildEmailMessage(base, { locale: null }).html).toContain('<html>');
  });
});

describe('link', () => {
  it('is a button and a copyable line in HTML, and an "Open:" line in text, for http(s)', () => {
    const { text, html } = buildEmailMessage({ ...base, link: 'https://app.example.com/orders/7' });
    expect(text).toBe('Build finished\n\nOpen: https://app.example.com/orders/7\n');
    expect(html).toMatch(/<a href="https:\/\/app\.example\.com\/orders\/7" target="_blank" rel="noopener noreferrer" style="[^"]+">Open<\/a>/);
    expect(html).toContain('>https://app.example.com/orders/7</p>');
    expect(buildEmailMessage({ ...base, link: 'http://intranet.test/x' }).text).toContain('Open: http://intranet.test/x');
  });

  it('is dropped from both parts when it is not an absolute http(s) URL', () => {
    for (const link of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>x</script>', 'myapp://orders/7', '/orders/7', 'not a url', 'mailto:a@x.test']) {
      const { text, html } = buildEmailMessage({ ...base, link });
      expect(text, link).toBe('Build finished\n');
      expect(html, link).not.toContain('<a ');
      expect(html, link).not.toMatch(/javascript|data:|myapp|orders|mailto/i);
      expect(safeLink(link), link).toBeNull();
    }
  });

  it('is normalized by the URL parser, so quotes or spaces cannot end the attribute', () => {
    expect(safeLink(' https://a.test/p q"r\'s ')).toBe('https://a.test/p%20q%22r\'s');
    expect(escapeHtml(safeLink('https://a.test/?q="><x')!)).toBe('https://a.test/?q=%22%3E%3Cx');
  });
});
