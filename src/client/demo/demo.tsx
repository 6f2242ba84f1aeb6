/**
 * The notification-center demo served at /demo?token=<jwt>: an app's top bar with
 * `<NotificationCenter />` (bell, unseen badge, tabs, archive, preferences, toasts for
 * high and urgent, desktop notifications), the unread count and the connection state —
 * one `useNotifications()` feeding both, as an app would do it.
 *
 * Query options (for trying the fallback chain by hand and for the browser tests):
 * `transports=sse,rest-polling` restricts the chain, `pollMs=` the REST poll interval,
 * `pageSize=` the history page size. Stable `data-testid`s are listed in the README
 * ("Notification center (React)"). `window.notifyDemo` exposes what was delivered,
 * toasted and offered as a desktop notification, in order, for tests.
 */
import { useCallback } from 'react';
import { createRoot } from 'react-dom/client';
import { NotificationCenter, useNotifications, type DesktopOutcome } from '../react.js';
import type { DeliveryMeta, Notification, TransportName } from '../types.js';

interface DemoProbe {
  delivered: { id: string; transport: TransportName; replayed: boolean }[];
  toasted: string[];
  desktop: { id: string; outcome: DesktopOutcome }[];
}

const probe: DemoProbe = { delivered: [], toasted: [], desktop: [] };
(globalThis as { notifyDemo?: DemoProbe }).notifyDemo = probe;

interface DemoOptions {
  token: string;
  transports?: TransportName[];
  pollMs?: number;
  pageSize?: number;
}

function App({ token, transports, pollMs, pageSize }: DemoOptions) {
  const onNotification = useCallback((n: Notification, meta: DeliveryMeta) => {
    probe.delivered.push({ id: n.id, transport: meta.transport, replayed: meta.replayed });
  }, []);
  const center = useNotifications({
    token,
    onNotification,
    ...(transports ? { transports } : {}),
    ...(pollMs ? { pollIntervalMs: pollMs } : {}),
    ...(pageSize ? { pageSize } : {}),
  });

  return (
    <>
      <header className="topbar">
        <span className="brand">Acme Projects</span>
        <span className="spacer" />
        <span className={`state ${center.state}`} data-testid="connection-state">
          {center.state}
        </span>
        <span className="unread">
          <span data-testid="unread-count">{center.unreadCount}</span> unread
        </span>
        <NotificationCenter
          notifications={center}
          onToast={(n) => probe.toasted.push(n.id)}
          onDesktopNotification={(n, outcome) => probe.desktop.push({ id: n.id, outcome })}
        />
      </header>
      <main className="content">
        <h1>Notification center demo</h1>
        <p>
          Signed in with the token from the address. Send this user a notification (the gateway prints a curl line at start): it appears
          under the bell at once; <code>high</code> and <code>urgent</code> ones also pop up as a toast, and as a desktop notification
          while this tab is hidden (after “Turn on” in the popover).
        </p>
      </main>
    </>
  );
}

const params = new URLSearchParams(location.search);
const token = params.get('token');
const transports = params.get('transports')?.split(',').filter(Boolean) as TransportName[] | undefined;
const pollMs = Number(params.get('pollMs')) || undefined;
const pageSize = Number(params.get('pageSize')) || undefined;
const root = createRoot(document.getElementById('root')!);
root.render(
  token ? (
    <App token={token} {...(transports?.length ? { transports } : {})} {...(pollMs ? { pollMs } : {})} {...(pageSize ? { pageSize } : {})} />
  ) : (
    <main className="content">Open /demo?token=&lt;user JWT&gt; (the gateway prints one at start).</main>
  ),
);
