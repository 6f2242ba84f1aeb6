import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

describe('logger', () => {
  it('redacts tokens, API keys and auth headers', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    createLogger('info', sink).info(
      {
        token: 'jwt-secret-token',
        auth: { token: 'nested-token' },
        apiKey: 'k-123',
        req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k-456' } },
      },
      'probe',
    );
    for (const secret of ['jwt-secret-token', 'nested-token', 'k-123', 'Bearer abc', 'k-456']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(out).toContain('probe');
  });
});
