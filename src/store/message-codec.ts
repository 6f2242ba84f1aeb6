/** Rows ↔ the wire shape. The one place JSON text and BIGINT columns are normalised. */
import type { Notification, Priority } from '../client/types.js';
import { publicTenant } from '../apps/app-scope.js';

/**
 * What clients receive as the `notification` event. The contract is written once, in the
 * SDK's types (the SDK never imports server code; the server may import its types).
 */
export type WireNotification = Notification;
export type { Priority };
export type Scope = Notification['scope'];

export interface MessageRow {
  id: string;
  tenant_id: string;
  kind: string;
  scope: string;
  title: string;
  body: string | null;
  data: unknown;
  priority: string;
  dedupe_key: string | null;
  seq: number | string | null;
  created_at: number | string;
  expires_at: number | string | null;
  /** Scope "topic": the topics it went to (JSON text); null otherwise. Absent in rows built before commit. */
  topics?: unknown;
  /** Sent to these devices of its one recipient only (JSON text); null: every device. */
  devices?: unknown;
  /** Scope "segment": the segments it went to (JSON text); null otherwise. Absent in rows built before commit. */
  segments?: unknown;
}

export const MESSAGE_COLUMNS = [
  'id',
  'tenant_id',
  'kind',
  'scope',
  'title',
  'body',
  'data',
  'priority',
  'dedupe_key',
  'seq',
  'created_at',
  'expires_at',
  'topics',
  'devices',
  'segments',
] as const;

export function encodeData(data: Record<string, unknown> | undefined): string | null {
  return data === undefined ? null : JSON.stringify(data);
}

/** mysql2 on MariaDB may hand back parsed JSON, SQLite gives text: accept both. */
export function decodeData(raw: unknown): Record<string, unknown> | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'object') return raw as Record<string, unknown>;
  return JSON.parse(String(raw)) as Record<string, unknown>;
}

export function toNumber(value: number | string | bigint | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : Number(value);
}

export function toWire(row: MessageRow): WireNotification {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: decodeData(row.data),
    priority: row.priority as Priority,
    scope: row.scope as Scope,
    // Clients know their tenant by the id their app gave it, not by its storage key.
    tenantId: publicTenant(row.tenant_id),
    createdAt: new Date(toNumber(row.created_at) ?? 0).toISOString(),
    ...(row.topics != null && { topics: decodeTopics(row.topics) }),
    ...(row.devices != null && { devices: decodeDevices(row.devices) }),
    ...(row.segments != null && { segments: decodeNames(row.segments) }),
  };
}

export function encodeDevices(devices: readonly string[] | undefined): string | null {
  return devices === undefined || devices.length === 0 ? null : JSON.stringify(devices);
}

function decodeDevices(raw: unknown): string[] {
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as string[];
}

export function encodeTopics(topics: readonly string[] | undefined): string | null {
  return topics === undefined || topics.length === 0 ? null : JSON.stringify(topics);
}

function decodeTopics(raw: unknown): string[] {
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as string[];
}

/** Scope "segment": the segment names, stored like topics. */
export const encodeSegments = encodeTopics;
const decodeNames = decodeTopics;

/**
 * The external part of a notification (`notify_messages.delivery`): which tenant channels
 * it goes through besides in-app, where external messages point, WeCom mentions, and
 * whether external payloads may carry body and data ("full") or only title, kind and
 * link ("summary", the default), and the key digests group it by.
 */
export interface DeliverySpec {
  channels: string[];
  link?: string;
  mentions?: { userIds?: string[]; mobiles?: string[]; all?: boolean };
  external?: 'summary' | 'full';
  /** Digests group by this key (default: the kind). */
  digestKey?: string;
}

export function encodeDelivery(spec: DeliverySpec | undefined): string | null {
  return spec === undefined || spec.channels.length === 0 ? null : JSON.stringify(spec);
}

export function decodeDelivery(raw: unknown): DeliverySpec | null {
  if (raw === null || raw === undefined || raw === '') return null;
  return (typeof raw === 'object' ? raw : JSON.parse(String(raw))) as DeliverySpec;
}
