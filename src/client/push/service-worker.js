/**
 * Service worker for notify-gateway browser push. Plain JavaScript, no imports, so it can
 * be served as it is.
 *
 * How to serve it: copy this file into your app and serve it from YOUR app's origin (a
 * service worker must be same-origin with the page), e.g. as `/notify-sw.js` with a
 * JavaScript Content-Type. Served at the root, its scope is the whole site; from a
 * sub-path (`/static/notify-sw.js`) the scope is that folder unless the response carries
 * `Service-Worker-Allowed: /`. Then call `registerPush({ …, serviceWorkerPath })` from
 * the page (src/client/push/register-push.ts). If the app already has a service worker,
 * paste the two listeners into it instead: a scope holds only one worker.
 *
 * Rules:
 * - Every push shows a notification: browsers require it (userVisibleOnly) and show a
 *   generic one of their own, or revoke the subscription, when a push shows nothing.
 * - `tag` is the notification id, so a push delivered twice (delivery is at-least-once)
 *   replaces the first notification instead of stacking a copy.
 * - The payload is the gateway's privacy-safe JSON `{ id, kind, title, body, link,
 *   priority, createdAt, tenantId }`; `body` is null unless the notification was sent
 *   with `external: "full"`.
 */
/* eslint-env serviceworker */

self.addEventListener('push', (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    // Not JSON: still show something (see the first rule above).
  }
  const title = typeof message.title === 'string' && message.title ? message.title : 'New notification';
  const options = {
    tag: typeof message.id === 'string' ? message.id : undefined,
    data: { link: typeof message.link === 'string' ? message.link : null, id: message.id ?? null },
  };
  if (typeof message.body === 'string') options.body = message.body;
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  // Relative links are relative to the app, which is this worker's origin.
  const target = new URL(data.link || self.registration.scope, self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === target);
      if (open && 'focus' in open) return open.focus();
      return self.clients.openWindow ? self.clients.openWindow(target) : undefined;
    }),
  );
});
