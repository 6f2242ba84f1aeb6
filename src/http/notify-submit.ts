/**
 * One notification from an API key, after its body was parsed: policies → rate limits →
 * emitted at once (transient) or committed → audit → the answer. The same path for
 * `POST /api/notify/:kind` and the compatibility `POST /notify`, so both keep the same
 * rules and answers.
 */
import type { Response } from 'express';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import { sendTransient } from '../topics/transient-emitter.js';
import { answer, toNotificationInput, type NotifyDeps } from './notify-input.js';
import { rateLimited } from './notify-limits.js';
import { withPolicies } from './notify-policies.js';
import type { NotifyBody } from './notify-schema.js';

export async function submitNotify(deps: NotifyDeps, res: Response, grant: ApiKeyGrant, kind: string, body: NotifyBody): Promise<void> {
  const input = await withPolicies(deps.policies, toNotificationInput(deps, kind, body, grant));
  const admission = await deps.limits?.admit(res, grant, [input]);
  if (admission?.refusedBy) throw rateLimited(res, admission.refusedBy);
  if (body.transient) {
    const transient = sendTransient(deps.emitTransient, input);
    return replyJson(res, transient.status, transient.body);
  }
  const result = await deps.submit(input);
  if (!result.deduped) await deps.audit?.afterCommit(grant, [{ id: result.id, input }]);
  const { status, body: payload } = answer(deps, kind, result);
  replyJson(res, status, payload);
}

/**
 * res.json without its ETag: express hashes every body for one, and nothing revalidates
 * the answer to a POST. Same body and Content-Type as res.json.
 */
function replyJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
