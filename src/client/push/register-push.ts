/**
 * Browser push sign-up for notify-gateway: registers the app's service worker
 * (service-worker.js, served by the app at its own origin), subscribes with the gateway's
 * VAPID public key, and hands the subscription to the gateway for the signed-in user.
 *
 * Rules:
 * - Browser-only, no server imports: it ships in the client bundle.
 * - Subscribing needs an active worker, so registration waits for activation rather than
 *   `navigator.serviceWorker.ready`, which never settles when the worker's scope does not
 *   cover the current page.
 * - An existing subscription is reused when it was made for the same VAPID key (the
 *   gateway upserts by endpoint, so registering again is harmless); one made for another
 *   key would be refused by the push service (403), so it is replaced.
 * - The endpoint is a capability (whoever holds it can push), so it travels in request
 *   bodies only, never in a URL that access logs keep.
 */

export interface RegisterPushOptions {
  /** The gateway's base URL, e.g. `https://notify.example.com`. */
  url: string;
  /** The user's JWT (the same one the notification client uses). */
  token: string;
  /** VAPID_PUBLIC_KEY of the gateway, URL-safe base64. */
  vapidPublicKey: string;
  /** Where the app serves service-worker.js; `/notify-sw.js` by default. */
  serviceWorkerPath?: string;
  /** Lets the gateway tell this browser's subscription apart from the user's others. */
  deviceId?: string;
}

export interface UnregisterPushOptions {
  url: string;
  token: string;
  serviceWorkerPath?: string;
}

const DEFAULT_WORKER_PATH = '/notify-sw.js';

/** True where this browser can do web push at all (not e.g. iOS Safari outside an installed web app). */
export function isPushSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof PushManager !== 'undefined' && typeof Notification !== 'undefined';
}

/** Subscribes this browser and registers it with the gateway; returns the subscription. May prompt for permission. */
export async function registerPush(options: RegisterPushOptions): Promise<PushSubscription> {
  if (!isPushSupported()) throw new Error('push notifications are not supported in this browser');
  if (Notification.permission === 'denied') throw new Error('notifications are blocked for this site');
  const registration = await navigator.serviceWorker.register(options.serviceWorkerPath ?? DEFAULT_WORKER_PATH);
  await activated(registration);
  const applicationServerKey = urlBase64ToUint8Array(options.vapidPublicKey);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  await call(options, 'POST', { ...subscription.toJSON(), deviceId: options.deviceId ?? null });
  return subscription;
}

/** Unsubscribes this browser and tells the gateway; false when there was no subscription. */
export async function unregisterPush(options: UnregisterPushOptions): Promise<boolean> {
  if (!isPushSupported()) return false;
  const registration = await navigator.serviceWorker.getRegistration(options.serviceWorkerPath ?? DEFAULT_WORKER_PATH);
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return false;
  const { endpoint } = subscription;
  // Locally first: if the gateway call fails, the push service answers 410 and the gateway drops it then.
  await subscription.unsubscribe();
  await call(options, 'DELETE', { endpoint });
  return true;
}

/** A VAPID key (URL-safe base64, unpadded) as the bytes `applicationServerKey` wants. */
export function urlBase64ToUint8Array(base64Url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64Url + '='.repeat((4 - (base64Url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function call(options: { url: string; token: string }, method: 'POST' | 'DELETE', body: unknown): Promise<void> {
  const response = await fetch(`${options.url.replace(/\/+$/, '')}/api/push-subscriptions`, {
    method,
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`push subscription ${method} failed: HTTP ${response.status}`);
}

function activated(registration: ServiceWorkerRegistration): Promise<void> {
  if (registration.active) return Promise.resolve();
  const worker = registration.installing ?? registration.waiting;
  if (!worker) return Promise.reject(new Error('the service worker did not install'));
  return new Promise((resolve, reject) => {
    const check = () => {
      if (worker.state === 'activated') (worker.removeEventListener('statechange', check), resolve());
      else if (worker.state === 'redundant') (worker.removeEventListener('statechange', check), reject(new Error('the service worker failed to install')));
    };
    worker.addEventListener('statechange', check);
    check();
  });
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}
