/**
 * Browser (desktop) notifications for the notifications that warrant interrupting: high
 * and urgent ones, while the page is hidden.
 *
 * Rules:
 * - Opt-in. Permission is asked only when the user presses the button (browsers want a
 *   user gesture for it, and people deny unprompted asks).
 * - A visible tab shows its in-page toast instead; only a hidden one shows a system
 *   notification.
 * - One per notification id across the user's tabs. Every tab that receives it claims the
 *   id: the first to take a Web Lock named after the id wins (the browser grants it to one
 *   tab only) and holds it for CLAIM_HOLD_MS, while its siblings receive the same
 *   delivery; it also writes the id to a small list in localStorage, which answers tabs
 *   that receive it later (localStorage alone cannot decide: other tabs see a write a
 *   moment later). A visible tab claims too (its toast is the notification), so hidden
 *   siblings stay quiet. `tag: id` makes the system replace rather than stack if it is
 *   shown twice anyway (no Web Locks on an insecure origin, two browser profiles).
 */
import type { Notification } from '../types.js';

export type DesktopPermission = NotificationPermission | 'unsupported';

const CLAIMS_KEY = 'notify:desktop-claims';
const CLAIMS_KEPT = 200;
const CLAIM_HOLD_MS = 30_000;

export function desktopPermission(): DesktopPermission {
  return typeof window !== 'undefined' && 'Notification' in window ? window.Notification.permission : 'unsupported';
}

export async function requestDesktopPermission(): Promise<DesktopPermission> {
  if (desktopPermission() === 'unsupported') return 'unsupported';
  return window.Notification.requestPermission();
}

export type DesktopOutcome = 'shown' | 'shown-elsewhere' | 'page-visible' | 'not-permitted';

function claimedIds(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(CLAIMS_KEY) ?? '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function remember(id: string): void {
  try {
    localStorage.setItem(CLAIMS_KEY, JSON.stringify([...claimedIds(), id].slice(-CLAIMS_KEPT)));
  } catch {
    // Storage blocked: the lock still decides among the tabs open now.
  }
}

/** Claims the id for this tab; false when another tab (or this one) already did. */
function claim(id: string): Promise<boolean> {
  if (claimedIds().includes(id)) return Promise.resolve(false);
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) {
    remember(id);
    return Promise.resolve(true);
  }
  return new Promise<boolean>((resolve) => {
    locks
      .request(`${CLAIMS_KEY}:${id}`, { ifAvailable: true }, async (lock) => {
        if (!lock || claimedIds().includes(id)) return resolve(false);
        remember(id);
        resolve(true);
        await new Promise((release) => setTimeout(release, CLAIM_HOLD_MS));
      })
      .catch(() => resolve(false));
  });
}

/**
 * Offers one delivered notification: shown as a system notification when this tab is
 * hidden, permission is granted and no other tab has claimed it.
 */
export async function offerDesktopNotification(notification: Notification, onClick?: (n: Notification) => void): Promise<DesktopOutcome> {
  if (desktopPermission() !== 'granted') return 'not-permitted';
  const hidden = document.visibilityState === 'hidden';
  const mine = await claim(notification.id);
  if (!hidden) return 'page-visible';
  if (!mine) return 'shown-elsewhere';
  const shown = new window.Notification(notification.title, {
    body: notification.body ?? '',
    tag: notification.id,
    requireInteraction: notification.priority === 'urgent',
    data: { id: notification.id, kind: notification.kind },
  });
  shown.onclick = () => {
    window.focus();
    shown.close();
    onClick?.(notification);
  };
  return 'shown';
}
