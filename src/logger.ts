import { pino, type Logger } from 'pino';

export type { Logger };

/** Secrets never reach the log: tokens, API keys and auth headers are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: [
        'token',
        '*.token',
        'apiKey',
        '*.apiKey',
        'headers.authorization',
        '*.headers.authorization',
        'headers["x-api-key"]',
        '*.headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  });
}
