/**
 * Outside production a fresh machine must start with zero setup: when no JWT secret
 * or API key is configured we generate them once, keep them in `./data/` (so a
 * restart does not invalidate tokens already handed out) and print a ready demo
 * token, key and curl line. Production never gets here: config refuses to start.
 */
import { DEFAULT_APP } from '../apps/app-scope.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Config } from './config.js';

interface StoredCredentials {
  jwtSecret: string;
  apiKey: string;
}

export interface DemoCredentials {
  apiKey: string;
  token: string;
  userId: string;
  tenantId: string;
}

export function withDevCredentials(
  config: Config,
  file = './data/dev-credentials.json',
): { config: Config; demo: DemoCredentials | null } {
  const needsSecret = !config.JWT_SECRET && !config.JWT_PUBLIC_KEY;
  const needsKey = config.NOTIFY_API_KEYS.length === 0;
  if (config.isProduction || (!needsSecret && !needsKey)) return { config, demo: null };

  const stored = loadOrCreate(file);
  const merged: Config = Object.freeze({
    ...config,
    JWT_SECRET: needsSecret ? stored.jwtSecret : config.JWT_SECRET,
    NOTIFY_API_KEYS: needsKey ? Object.freeze([Object.freeze({ key: stored.apiKey, tenantId: null, app: DEFAULT_APP })]) : config.NOTIFY_API_KEYS,
  });
  const demo: DemoCredentials = {
    apiKey: merged.NOTIFY_API_KEYS[0]!.key,
    userId: 'demo-user',
    tenantId: 'default',
    token: merged.JWT_SECRET
      ? jwt.sign({ sub: 'demo-user', tid: 'default' }, merged.JWT_SECRET, { algorithm: 'HS256', expiresIn: '30d' })
      : '(JWT_PUBLIC_KEY is set: sign a token with your private key)',
  };
  return { config: merged, demo };
}

function loadOrCreate(file: string): StoredCredentials {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredCredentials>;
    if (typeof parsed.jwtSecret === 'string' && typeof parsed.apiKey === 'string') {
      return { jwtSecret: parsed.jwtSecret, apiKey: parsed.apiKey };
    }
  } catch {
    // missing or unreadable: generate below
  }
  const created = { jwtSecret: randomBytes(32).toString('hex'), apiKey: `dev_${randomBytes(16).toString('hex')}` };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(created, null, 2), { mode: 0o600 });
  return created;
}

export function describeDemo(demo: DemoCredentials, baseUrl: string): string {
  return [
    '',
    'Development credentials (generated, kept in ./data/dev-credentials.json):',
    `  API key:     ${demo.apiKey}`,
    `  user token:  ${demo.token}   (sub=${demo.userId}, tid=${demo.tenantId})`,
    '',
    'Open the notification center as that user:',
    `  ${baseUrl}/demo?token=${demo.token}`,
    '',
    'Send a notification:',
    `  curl -sS -X POST ${baseUrl}/api/notify/task:completed -H 'Content-Type: application/json' \\`,
    `    -H 'X-API-Key: ${demo.apiKey}' -d '{"userId":"${demo.userId}","title":"Build finished"}'`,
    '',
  ].join('\n');
}
