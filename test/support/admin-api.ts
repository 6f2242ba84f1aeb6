/**
 * The management API over real HTTP, for tests: channels, recipients, the delivery
 * queue. Every call uses the any-tenant test key unless told otherwise.
 */
import { API_KEY } from './harness.js';
import { until } from './until.js';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T & { error?: { code: string; message: string; details?: unknown } };
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = API_KEY,
): Promise<ApiResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(key ? { 'x-api-key': key } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as ApiResponse<T>['body'] };
}

/** PUT a channel; insists on 200/201. */
export async function putChannel(baseUrl: string, name: string, channel: Record<string, unknown>, tenantId?: string) {
  const query = tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : '';
  const res = await api<{ channel: Record<string, unknown> }>(baseUrl, 'PUT', `/api/channels/${name}${query}`, channel);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT channel failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.channel;
}

export async function putRecipient(baseUrl: string, userId: string, fields: Record<string, unknown>, tenantId?: string) {
  const query = tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : '';
  const res = await api(baseUrl, 'PUT', `/api/recipients/${encodeURIComponent(userId)}${query}`, fields);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT recipient failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface DeliveryItem {
  id: string;
  messageId: string;
  channel: string;
  channelType: string;
  recipient: string | null;
  status: string;
  attempts: number;
  lastError: string | null;
  reason: string | null;
  nextAttemptAt: string | null;
}

export async function deliveriesOf(baseUrl: string, messageId: string): Promise<DeliveryItem[]> {
  const res = await api<{ deliveries: DeliveryItem[] }>(baseUrl, 'GET', `/api/deliveries?messageId=${messageId}&limit=500`);
  if (res.status !== 200) throw new Error(`GET deliveries failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.deliveries;
}

/** Waits until every delivery of the message is in a final state, or `count` of them are in `status`. */
export async function settledDeliveries(baseUrl: string, messageId: string, expected: number, timeoutMs = 15_000): Promise<DeliveryItem[]> {
  let last: DeliveryItem[] = [];
  await until(
    async () => {
      last = await deliveriesOf(baseUrl, messageId);
      return last.length === expected && last.every((d) => ['sent', 'dead', 'suppressed'].includes(d.status));
    },
    `${expected} settled deliveries of ${messageId}`,
    timeoutMs,
    50,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}`);
  });
  return last;
}
