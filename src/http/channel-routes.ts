/**
 * Channels of a tenant (API key): `PUT /api/channels/:name`, `GET /api/channels`,
 * `GET`/`DELETE /api/channels/:name`.
 *
 * Secrets never leave in full: a webhook secret is shown as `whsec_…last4` and a WeCom
 * robot key as `key=…last4`. The one exception is a webhook secret the gateway generated
 * (no `secret` in the PUT body): that response carries it once, since the receiver needs
 * it to verify signatures. URLs are checked against SSRF when they are saved, and again
 * on every send (address-guard.ts). PUT and DELETE leave a row in the audit log (type
 * only: never the URL or the secret).
 */
import { publicTenant } from '../apps/app-scope.js';
import { Router } from 'express';
import { z } from 'zod';
import { checkTargetUrl } from '../delivery/address-guard.js';
import type { ChannelType } from '../delivery/channel.js';
import { generateWebhookSecret, isWebhookSecret } from '../delivery/webhook/standard-webhooks.js';
import type { ChannelRecord, ChannelRepository } from '../store/channel-repository.js';
import { requireApiKey, tenantScopeOf, tenantOf, validationError, type AdminAuthDeps } from './admin-auth.js';
import { keyActor, type AuditLog } from './audit-routes.js';
import { HttpError } from './errors.js';
import { CHANNEL_NAME } from './notify-schema.js';

export interface ChannelRouteDeps extends AdminAuthDeps {
  channels: ChannelRepository;
  /** Channel types this gateway can send (email needs SMTP_URL, webpush VAPID keys). */
  available: ReadonlySet<ChannelType>;
  allowPrivateTargets: boolean;
  audit: AuditLog;
}

const url = z.string().min(1).max(2048);
export const channelBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url, secret: z.string().max(200).optional() }).strict(),
  z.object({ type: z.literal('wecom'), url }).strict(),
  z.object({ type: z.literal('email') }).strict(),
  z.object({ type: z.literal('webpush') }).strict(),
]);

export function channelRoutes(deps: ChannelRouteDeps): Router {
  const router = Router();

  router.put('/api/channels/:name', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = channelName(req.params.name);
    const parsed = channelBody.safeParse(req.body);
    if (!parsed.success) throw validationError('the channel is invalid', parsed.error.issues);
    const body = parsed.data;
    if (!deps.available.has(body.type)) {
      const needs = body.type === 'email' ? 'SMTP_URL and EMAIL_FROM' : 'VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT';
      throw new HttpError('VALIDATION_FAILED', `the ${body.type} channel needs ${needs} set on the gateway`);
    }
    let config: Record<string, unknown> = {};
    let generatedSecret: string | undefined;
    if (body.type === 'webhook' || body.type === 'wecom') {
      const problem = await checkTargetUrl(body.url, deps.allowPrivateTargets);
      if (problem) throw new HttpError('VALIDATION_FAILED', `url: ${problem}`, [{ path: 'url', message: problem }]);
      if (body.type === 'wecom' && !new URL(body.url).searchParams.get('key')) {
        throw new HttpError('VALIDATION_FAILED', 'url: a WeCom robot URL carries its key (…/cgi-bin/webhook/send?key=…)');
      }
      config = { url: body.url };
    }
    if (body.type === 'webhook') {
      if (body.secret !== undefined && !isWebhookSecret(body.secret)) {
        throw new HttpError('VALIDATION_FAILED', 'secret: "whsec_" followed by base64 of 24 to 64 bytes', [{ path: 'secret', message: 'invalid secret' }]);
      }
      generatedSecret = body.secret === undefined ? generateWebhookSecret() : undefined;
      config.secret = body.secret ?? generatedSecret;
    }
    const created = await deps.channels.put(tenantId, name, body.type, config);
    await deps.audit.record({
      tenantId,
      actor: keyActor(requireApiKey(deps, req)),
      action: 'channel.put',
      target: name,
      details: { type: body.type, created },
    });
    const saved = await deps.channels.get(tenantId, name);
    res.status(created ? 201 : 200).json({ channel: { ...present(saved!), ...(generatedSecret && { secret: generatedSecret }) } });
  });

  router.get('/api/channels', async (req, res) => {
    res.json({ channels: (await deps.channels.list(tenantScopeOf(deps, req))).map(present) });
  });

  router.get('/api/channels/:name', async (req, res) => {
    const found = await deps.channels.get(tenantOf(deps, req), channelName(req.params.name));
    if (!found) throw new HttpError('NOT_FOUND', 'no such channel');
    res.json({ channel: present(found) });
  });

  router.delete('/api/channels/:name', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const name = channelName(req.params.name);
    if (!(await deps.channels.delete(tenantId, name))) throw new HttpError('NOT_FOUND', 'no such channel');
    await deps.audit.record({ tenantId, actor: keyActor(requireApiKey(deps, req)), action: 'channel.delete', target: name });
    res.status(204).end();
  });

  return router;
}

function channelName(raw: unknown): string {
  if (typeof raw !== 'string' || !CHANNEL_NAME.test(raw)) {
    throw new HttpError('VALIDATION_FAILED', `channel name must match ${CHANNEL_NAME}`);
  }
  return raw;
}

/** The channel as operators may see it: no secret in full. */
function present(channel: ChannelRecord) {
  const { url, secret } = channel.config as { url?: string; secret?: string };
  return {
    tenantId: publicTenant(channel.tenantId),
    name: channel.name,
    type: channel.type,
    ...(url !== undefined && { url: maskUrl(url) }),
    ...(secret !== undefined && { secret: `whsec_…${secret.slice(-4)}` }),
    createdAt: new Date(channel.createdAt).toISOString(),
    updatedAt: new Date(channel.updatedAt).toISOString(),
  };
}

/** Query values named like credentials (a robot's `key`, `token`, …) keep only their last 4 characters. */
export function maskUrl(raw: string): string {
  const url = new URL(raw);
  for (const [name, value] of url.searchParams) {
    if (/key|token|secret|sig|pass/i.test(name)) url.searchParams.set(name, `…${value.slice(-4)}`);
  }
  if (url.password) url.password = '…';
  return url.toString();
}
