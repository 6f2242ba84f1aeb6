'use client';
import { NotificationCenter } from 'notify-gateway/client/react';

/** `?token=<jwt>` when the address carries one (handy against any gateway); else the token route. */
async function getToken(): Promise<string> {
  const fromQuery = new URLSearchParams(window.location.search).get('token');
  if (fromQuery) return fromQuery;
  const res = await fetch('/api/notify-token', { cache: 'no-store' });
  if (!res.ok) throw new Error(`token route answered ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export function NotificationBell() {
  // No `url`: the SDK talks to this page's origin, which next.config.ts proxies to the gateway.
  return <NotificationCenter getToken={getToken} onOpenNotification={(n) => console.info('open', n.id)} />;
}
