/**
 * The Socket.IO handshake accepts only tokens signed with the configured key and
 * algorithm family, with sane claims; everything else ends in `connect_error` with the
 * message `unauthorized` and no hint of why.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_SECRET, createTestBed, signToken, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A token built by hand, as an attacker would: any header, any signature. */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, sign: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign(input)}`;
}

function pemPair(type: 'rsa' | 'ec'): { publicKey: string; privateKey: string } {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  return type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding })
    : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding });
}

const rsa = pemPair('rsa');
const otherRsa = pemPair('rsa');
const ec = pemPair('ec');
const ISSUER = 'https://auth.example.test';
const AUDIENCE = 'notify-gateway';

let bed: TestBed;
let hs: RunningGateway;
let rs: RunningGateway;
let es: RunningGateway;
let scoped: RunningGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  hs = await bed.start();
  rs = await bed.start({ JWT_PUBLIC_KEY: rsa.publicKey, JWT_SECRET: '' });
  es = await bed.start({ JWT_PUBLIC_KEY: ec.publicKey, JWT_SECRET: '' });
  scoped = await bed.start({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await bed.stopAll();
});

async function accepted(url: string, token: string): Promise<TestClient> {
  const client = await TestClient.connect(url, { token });
  clients.push(client);
  expect(client.socket.connected).toBe(true);
  expect(client.synced).toHaveLength(1);
  return client;
}

interface Attack {
  name: string;
  gateway: () => RunningGateway;
  auth: () => Record<string, unknown>;
}

const hmac = (secret: string) => (input: string) => createHmac('sha256', secret).update(input).digest('base64url');
const claims = () => ({ sub: uniqueUser(), tid: 'default' });
/** Claims for hand-built tokens, which carry their own exp. */
const crafted = () => ({ ...claims(), exp: inAnHour() });

const attacks: Attack[] = [
  { name: 'no auth at all', gateway: () => hs, auth: () => ({}) },
  { name: 'empty token', gateway: () => hs, auth: () => ({ token: '' }) },
  { name: 'token is not a string', gateway: () => hs, auth: () => ({ token: { sub: 'alice' } }) },
  { name: 'garbage token', gateway: () => hs, auth: () => ({ token: 'not.a.jwt' }) },
  { name: 'oversized token', gateway: () => hs, auth: () => ({ token: signToken({ sub: uniqueUser(), pad: 'x'.repeat(9000) }) }) },
  { name: 'alg "none", empty signature', gateway: () => hs, auth: () => ({ token: craft({ alg: 'none', typ: 'JWT' }, crafted(), () => '') }) },
  { name: 'alg "None", empty signature', gateway: () => hs, auth: () => ({ token: craft({ alg: 'None', typ: 'JWT' }, crafted(), () => '') }) },
  {
    name: 'HS256 header, signature stripped',
    gateway: () => hs,
    auth: () => ({ token: signToken({ sub: uniqueUser() }).replace(/\.[^.]+$/, '.') }),
  },
  {
    name: 'payload swapped under a valid signature',
    gateway: () => hs,
    auth: () => {
      const [header, , signature] = signToken({ sub: 'mallory' }).split('.');
      return { token: `${header}.${b64url({ sub: 'alice', exp: inAnHour() })}.${signature}` };
    },
  },
  { name: 'signed with the wrong secret', gateway: () => hs, auth: () => ({ token: signToken(claims(), {}, `${JWT_SECRET}-not`) }) },
  {
    name: 'expired',
    gateway: () => hs,
    auth: () => ({ token: jwt.sign({ sub: uniqueUser(), exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { algorithm: 'HS256' }) }),
  },
  {
    name: 'not yet valid (nbf in the future)',
    gateway: () => hs,
    auth: () => ({ token: signToken({ sub: uniqueUser(), nbf: Math.floor(Date.now() / 1000) + 600 }) }),
  },
  { name: 'missing sub', gateway: () => hs, auth: () => ({ token: signToken({ tid: 'default' }) }) },
  { name: 'empty sub', gateway: () => hs, auth: () => ({ token: signToken({ sub: '' }) }) },
  { name: 'numeric sub', gateway: () => hs, auth: () => ({ token: signToken({ sub: 42 }) }) },
  { name: 'sub with whitespace', gateway: () => hs, auth: () => ({ token: signToken({ sub: 'alice bob' }) }) },
  { name: 'tid with ":"', gateway: () => hs, auth: () => ({ token: signToken({ sub: uniqueUser(), tid: 'acme:admin' }) }) },
  { name: 'numeric tid', gateway: () => hs, auth: () => ({ token: signToken({ sub: uniqueUser(), tid: 7 }) }) },
  { name: 'RS256 token at an HS256 gateway', gateway: () => hs, auth: () => ({ token: jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', expiresIn: '1h' }) }) },
  {
    name: 'HS/RS confusion: HS256 keyed with the public key PEM',
    gateway: () => rs,
    auth: () => ({ token: craft({ alg: 'HS256', typ: 'JWT' }, crafted(), hmac(rsa.publicKey)) }),
  },
  {
    name: 'HS256 with the test shared secret at a public-key gateway',
    gateway: () => rs,
    auth: () => ({ token: signToken(claims()) }),
  },
  { name: 'alg "none" at an RS256 gateway', gateway: () => rs, auth: () => ({ token: craft({ alg: 'none' }, crafted(), () => '') }) },
  {
    name: 'RS256 signed with another RSA key',
    gateway: () => rs,
    auth: () => ({ token: jwt.sign(claims(), otherRsa.privateKey, { algorithm: 'RS256', expiresIn: '1h' }) }),
  },
  {
    name: 'ES256 signed with a key the gateway does not know',
    gateway: () => rs,
    auth: () => ({ token: jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', expiresIn: '1h' }) }),
  },
  {
    name: 'HS/EC confusion: HS256 keyed with the EC public key PEM',
    gateway: () => es,
    auth: () => ({ token: craft({ alg: 'HS256', typ: 'JWT' }, crafted(), hmac(ec.publicKey)) }),
  },
  {
    name: 'wrong issuer',
    gateway: () => scoped,
    auth: () => ({ token: signToken({ sub: uniqueUser() }, { issuer: 'https://evil.example.test', audience: AUDIENCE }) }),
  },
  {
    name: 'wrong audience',
    gateway: () => scoped,
    auth: () => ({ token: signToken({ sub: uniqueUser() }, { issuer: ISSUER, audience: 'another-service' }) }),
  },
  { name: 'no issuer or audience', gateway: () => scoped, auth: () => ({ token: signToken({ sub: uniqueUser() }) }) },
];

describe('handshake rejects forged, expired and malformed tokens', () => {
  it.each(attacks)('$name → unauthorized', async ({ gateway, auth }) => {
    expect(await TestClient.rejected(gateway().url, auth())).toBe('unauthorized');
  });
});

describe('handshake accepts what the configuration allows', () => {
  it('HS256 with JWT_SECRET', async () => {
    await accepted(hs.url, signToken({ sub: uniqueUser(), tid: 'acme' }));
  });

  it('a hand-built HS256 token (control: craft() makes well-formed tokens)', async () => {
    await accepted(hs.url, craft({ alg: 'HS256', typ: 'JWT' }, crafted(), hmac(JWT_SECRET)));
  });

  it('a token without tid (tenant "default")', async () => {
    await accepted(hs.url, signToken({ sub: uniqueUser() }));
  });

  it('RS256 signed with the private half of JWT_PUBLIC_KEY', async () => {
    await accepted(rs.url, jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', expiresIn: '1h' }));
  });

  it('ES256 signed with the private half of an EC JWT_PUBLIC_KEY', async () => {
    await accepted(es.url, jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', expiresIn: '1h' }));
  });

  it('the configured issuer and audience', async () => {
    await accepted(scoped.url, signToken({ sub: uniqueUser() }, { issuer: ISSUER, audience: AUDIENCE }));
  });

  it('an audience list that contains the configured audience', async () => {
    await accepted(scoped.url, signToken({ sub: uniqueUser(), aud: ['billing', AUDIENCE] }, { issuer: ISSUER }));
  });
});
