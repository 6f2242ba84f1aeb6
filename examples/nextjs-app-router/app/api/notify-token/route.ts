import { createHmac } from 'node:crypto';

export const dynamic = 'force-dynamic';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

// Signs a short-lived user token for the gateway (HS256 with the gateway's JWT_SECRET).
export async function GET() {
  const secret = process.env.NOTIFY_JWT_SECRET;
  if (!secret) return Response.json({ error: 'NOTIFY_JWT_SECRET is not set' }, { status: 500 });
  // Take these from your session; from the environment here for the example.
  const userId = process.env.NOTIFY_DEMO_USER ?? 'demo-user';
  const tenantId = 'default';
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: userId, tid: tenantId, iat: now, exp: now + 3600 })}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return Response.json({ token: `${unsigned}.${signature}` }, { headers: { 'Cache-Control': 'no-store' } });
}
