'use client';
/**
 * useNotifications — the React (Next.js App Router) binding of NotificationCenter (the
 * framework-free store; the component of the same name is ui/notification-center-view.tsx).
 *
 * The client is created in an effect, never during render, so server rendering sees
 * the initial snapshot and touches no browser API. It is recreated only when the URL,
 * the user (token subject) or the transports change — a refreshed token for the same
 * user is picked up through `getToken`, not by reconnecting.
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { emptySnapshot, NotificationCenter, type CenterOptions, type CenterSnapshot, type CenterStatus } from './notification-center.js';
import { createNotificationClient, type NotificationClient } from './notification-client.js';
import { tokenSubject } from './support.js';
import type { NotificationClientOptions } from './types.js';

export interface UseNotificationsOptions extends NotificationClientOptions, CenterOptions {
  /** Use this client instead of creating one (it is not closed on unmount). */
  client?: NotificationClient;
}

export interface UseNotificationsResult extends CenterSnapshot {
  loadMore(): Promise<void>;
  markRead(id: string): Promise<void>;
  markAllRead(): Promise<void>;
  /** The bell was opened: the unseen badge goes to zero. */
  markSeen(): Promise<void>;
  archive(id: string): Promise<void>;
  unarchive(id: string): Promise<void>;
  /** Which tab `notifications` shows. */
  setStatus(status: CenterStatus): void;
  client: NotificationClient | null;
}

const INITIAL: CenterSnapshot = emptySnapshot('connecting', 'all');
const noSubscription = () => () => undefined;
const initialSnapshot = () => INITIAL;

export function useNotifications(options: UseNotificationsOptions): UseNotificationsResult {
  const latest = useRef(options);
  latest.current = options;
  const [bound, setBound] = useState<{ center: NotificationCenter; client: NotificationClient } | null>(null);
  const subject = options.token ? tokenSubject(options.token) : null;
  const identity = [options.url ?? '', subject?.tenantId ?? '', subject?.userId ?? '', (options.transports ?? []).join(',')].join('|');

  useEffect(() => {
    const given = latest.current.client;
    const client =
      given ??
      createNotificationClient({
        ...latest.current,
        // Always the newest prop: a parent that re-renders with a fresh token needs no reconnect.
        getToken: async (reason) => {
          const { getToken, token } = latest.current;
          if (getToken) return getToken(reason);
          if (token) return token;
          throw new Error('useNotifications needs `token` or `getToken`');
        },
      });
    const center = new NotificationCenter(client, {
      ...(latest.current.pageSize !== undefined ? { pageSize: latest.current.pageSize } : {}),
      ...(latest.current.status !== undefined ? { status: latest.current.status } : {}),
      onNotification: (n, meta) => latest.current.onNotification?.(n, meta),
    });
    setBound({ center, client });
    return () => {
      center.destroy();
      if (!given) client.close();
      setBound(null);
    };
  }, [identity, options.client]);

  const center = bound?.center;
  const snapshot = useSyncExternalStore(center?.subscribe ?? noSubscription, center?.getSnapshot ?? initialSnapshot, initialSnapshot);
  const loadMore = useCallback(() => center?.loadMore() ?? Promise.resolve(), [center]);
  const markRead = useCallback((id: string) => center?.markRead(id) ?? Promise.resolve(), [center]);
  const markAllRead = useCallback(() => center?.markAllRead() ?? Promise.resolve(), [center]);
  const markSeen = useCallback(() => center?.markSeen() ?? Promise.resolve(), [center]);
  const archive = useCallback((id: string) => center?.archive(id) ?? Promise.resolve(), [center]);
  const unarchive = useCallback((id: string) => center?.unarchive(id) ?? Promise.resolve(), [center]);
  const setStatus = useCallback((status: CenterStatus) => center?.setStatus(status), [center]);
  return { ...snapshot, loadMore, markRead, markAllRead, markSeen, archive, unarchive, setStatus, client: bound?.client ?? null };
}
