/**
 * The notification-center demo served at /demo?token=<jwt>: a bell with the unread
 * badge, the list with mark-read / mark-all-read, a toast for high priority, and the
 * connection state — built on `useNotifications`, as an app would be.
 *
 * Query options (for trying the fallback chain by hand and for the browser tests):
 * `transports=sse,rest-polling` restricts the chain, `pollMs=` the REST poll interval.
 * Stable `data-testid`s are the contract listed in the README ("Front end"). `window.notifyDemo`
 * exposes what was delivered and toasted, in order, for tests.
 */
import { createElement as h, useCallback, useRef, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { useNotifications } from '../react.js';
import type { DeliveryMeta, Notification, TransportName } from '../types.js';

interface DemoProbe {
  delivered: { id: string; transport: TransportName; replayed: boolean }[];
  toasted: string[];
}

const probe: DemoProbe = { delivered: [], toasted: [] };
(globalThis as { notifyDemo?: DemoProbe }).notifyDemo = probe;

const TOAST_MS = 6_000;

function App({ token, transports, pollMs }: { token: string; transports?: TransportName[]; pollMs?: number }): ReactNode {
  const [toasts, setToasts] = useState<Notification[]>([]);
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  const onNotification = useCallback((n: Notification, meta: DeliveryMeta) => {
    probe.delivered.push({ id: n.id, transport: meta.transport, replayed: meta.replayed });
    if (n.priority !== 'high') return;
    probe.toasted.push(n.id);
    setToasts((list) => [n, ...list].slice(0, 3));
    const timer = setTimeout(() => {
      timers.current.delete(timer);
      setToasts((list) => list.filter((t) => t.id !== n.id));
    }, TOAST_MS);
    timers.current.add(timer);
  }, []);
  const center = useNotifications({
    token,
    onNotification,
    ...(transports ? { transports } : {}),
    ...(pollMs ? { pollIntervalMs: pollMs } : {}),
  });

  return h(
    'div',
    { className: 'app' },
    h(
      'header',
      null,
      h('span', { className: 'bell', role: 'img', 'aria-label': 'notifications' }, bellIcon(),
        h('span', { className: 'badge', 'data-testid': 'unread-count', 'data-zero': String(center.unreadCount === 0) }, center.unreadCount)),
      h('h1', null, 'Notifications'),
      h('span', { className: `state ${center.state}`, 'data-testid': 'connection-state' }, center.state),
      h('button', { className: 'action', 'data-testid': 'mark-all-read', onClick: () => void center.markAllRead() }, 'Mark all read'),
    ),
    center.notifications.length === 0 && !center.loading ? h('div', { className: 'empty' }, 'Nothing yet.') : null,
    h(
      'ul',
      { 'data-testid': 'notification-list' },
      center.notifications.map((n) =>
        h(
          'li',
          { key: n.id, 'data-testid': 'notification', 'data-id': n.id, 'data-read': String(n.read), 'data-priority': n.priority },
          h('div', { className: 'text' },
            h('div', { className: 'title' }, n.title),
            n.body ? h('div', null, n.body) : null,
            h('div', { className: 'meta' }, `${n.kind} · ${new Date(n.createdAt).toLocaleString()}`)),
          n.read ? null : h('button', { className: 'action', 'data-testid': 'mark-read', onClick: () => void center.markRead(n.id) }, 'Mark read'),
        ),
      ),
    ),
    center.hasMore && center.notifications.length > 0
      ? h('div', { className: 'hint' }, h('button', { className: 'action', 'data-testid': 'load-more', onClick: () => void center.loadMore() }, 'Load more'))
      : null,
    h('div', { className: 'toasts' },
      toasts.map((t) => h('div', { key: t.id, className: 'toast', role: 'status', 'data-testid': 'toast', 'data-id': t.id },
        h('strong', null, t.title), t.body))),
  );
}

/** Inline SVG, not an emoji: headless and minimal systems often lack an emoji font. */
function bellIcon(): ReactNode {
  return h(
    'svg',
    { width: 22, height: 22, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 2, 'aria-hidden': true },
    h('path', { d: 'M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9' }),
    h('path', { d: 'M13.73 21a2 2 0 0 1-3.46 0' }),
  );
}

const params = new URLSearchParams(location.search);
const token = params.get('token');
const transports = params.get('transports')?.split(',').filter(Boolean) as TransportName[] | undefined;
const pollMs = Number(params.get('pollMs')) || undefined;
const root = createRoot(document.getElementById('root')!);
root.render(
  token
    ? h(App, { token, ...(transports?.length ? { transports } : {}), ...(pollMs ? { pollMs } : {}) })
    : h('div', { className: 'app' }, h('div', { className: 'hint' }, 'Open /demo?token=<user JWT> (the gateway prints one at start).')),
);
