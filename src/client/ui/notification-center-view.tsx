'use client';
/**
 * <NotificationCenter /> — a drop-in bell for React and the Next.js App Router: the
 * unseen badge, a popover with Unread / All / Archived tabs, mark read, mark all read,
 * archive, infinite scroll, a preferences panel, toasts for high and urgent
 * notifications and, opted into, desktop notifications while the tab is hidden.
 *
 * Either give it the client options (`token` or `getToken`, `url`, …; it creates its own
 * client through `useNotifications`) or a `useNotifications()` result as `notifications`,
 * when the page shows the same data elsewhere too.
 *
 * Keyboard: the bell is a button (Enter / Space open it; focus goes to the selected tab);
 * Escape closes the popover, or dismisses the toasts, and focus returns to the bell.
 * Opening the bell marks everything listed as seen, and so does a delivery while it is open.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CenterItem, CenterStatus } from '../notification-center.js';
import { useNotifications, type UseNotificationsOptions, type UseNotificationsResult } from '../use-notifications.js';
import type { DeliveryMeta, Notification } from '../types.js';
import {
  desktopPermission,
  offerDesktopNotification,
  requestDesktopPermission,
  type DesktopOutcome,
  type DesktopPermission,
} from './desktop-notifications.js';
import { BellIcon } from './icons.js';
import { NotificationPopover } from './notification-popover.js';
import { notificationCenterCss, NOTIFY_STYLE_ID } from './styles.js';
import { ToastStack } from './toast-stack.js';
import { useToasts } from './use-toasts.js';

export interface NotificationCenterProps extends Partial<UseNotificationsOptions> {
  /** A `useNotifications()` result to show, instead of creating a client from the options. */
  notifications?: UseNotificationsResult;
  /** Tabs, in order. @default ['unread', 'all', 'archived'] */
  tabs?: CenterStatus[];
  /** In-page toasts for high and urgent notifications. @default true */
  toasts?: boolean;
  /** How long a toast stays; urgent ones stay until dismissed. 0: all stay. @default 6000 */
  toastDurationMs?: number;
  /** @default 3 */
  maxToasts?: number;
  /** Offer desktop notifications (asked only when the user presses the button). @default true */
  desktopNotifications?: boolean;
  /** The preferences panel behind the gear button. @default true */
  preferences?: boolean;
  /** Channels the panel always offers. @default ['in_app', 'email', 'webpush'] */
  preferenceChannels?: string[];
  /** Render the stylesheet (a hoisted `<style>`); false when the app includes `notificationCenterCss` itself. @default true */
  injectStyles?: boolean;
  /** Called for every toast shown. */
  onToast?: (notification: Notification, meta: DeliveryMeta) => void;
  /** What became of each high or urgent notification offered as a desktop notification. */
  onDesktopNotification?: (notification: Notification, outcome: DesktopOutcome) => void;
  /** Makes each title a button: e.g. navigate to what the notification is about. */
  onOpenNotification?: (item: CenterItem) => void;
  /** Accessible name of the bell. @default "Notifications" */
  label?: string;
  className?: string;
}

const DEFAULT_TABS: CenterStatus[] = ['unread', 'all', 'archived'];
const DEFAULT_CHANNELS = ['in_app', 'email', 'webpush'];

/** High and urgent toast; a gateway that marks `toast` in the delivery meta decides instead. */
export function wantsToast(notification: Notification, meta: DeliveryMeta): boolean {
  const flagged = (meta as { toast?: unknown }).toast;
  return typeof flagged === 'boolean' ? flagged : notification.priority === 'high' || notification.priority === 'urgent';
}

export function NotificationCenter(props: NotificationCenterProps) {
  return props.notifications ? <NotificationCenterView {...props} center={props.notifications} /> : <ConnectedNotificationCenter {...props} />;
}

function ConnectedNotificationCenter(props: NotificationCenterProps) {
  const center = useNotifications(props as UseNotificationsOptions);
  return <NotificationCenterView {...props} center={center} />;
}

function NotificationCenterView({ center, ...props }: NotificationCenterProps & { center: UseNotificationsResult }) {
  const [open, setOpen] = useState(false);
  const [permission, setPermission] = useState<DesktopPermission>('unsupported');
  const root = useRef<HTMLDivElement>(null);
  const bell = useRef<HTMLButtonElement>(null);
  const toastStack = useRef<HTMLDivElement>(null);
  const openRef = useRef(open);
  openRef.current = open;
  const latest = useRef(props);
  latest.current = props;
  const toasts = useToasts(props.toastDurationMs ?? 6_000, props.maxToasts ?? 3);
  const { client, markSeen } = center;

  useEffect(() => setPermission(desktopPermission()), []);

  // Toasts and desktop notifications come from live deliveries, not from history.
  useEffect(() => {
    if (!client) return;
    return client.on('notification', (notification, meta) => {
      const options = latest.current;
      if (openRef.current) void markSeen();
      if (!wantsToast(notification, meta)) return;
      if (options.toasts !== false) {
        toasts.show(notification);
        options.onToast?.(notification, meta);
      }
      if (options.desktopNotifications !== false) {
        void offerDesktopNotification(notification, () => setOpen(true)).then((outcome) => latest.current.onDesktopNotification?.(notification, outcome));
      }
    });
  }, [client, markSeen, toasts.show]);

  const close = useCallback((returnFocus: boolean) => {
    setOpen(false);
    if (returnFocus) bell.current?.focus();
  }, []);

  const toggle = () => {
    if (open) return close(false);
    setOpen(true);
    void markSeen();
  };

  // Escape: the popover first, then the toasts; focus goes back to the bell.
  const hasToasts = toasts.toasts.length > 0;
  useEffect(() => {
    if (!open && !hasToasts) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      if (openRef.current) {
        event.preventDefault();
        return close(true);
      }
      const inToasts = toastStack.current?.contains(document.activeElement) ?? false;
      toasts.dismissAll();
      if (inToasts) bell.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open, hasToasts, close, toasts.dismissAll]);

  // A press outside closes the popover (focus stays where the user put it).
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) close(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open, close]);

  const dismissToast = (id: string) => {
    const hadFocus = toastStack.current?.contains(document.activeElement) ?? false;
    toasts.dismiss(id);
    if (hadFocus) bell.current?.focus();
  };

  const requestPermission = async () => setPermission(await requestDesktopPermission());
  const label = props.label ?? 'Notifications';
  const unseen = center.unseenCount;

  return (
    <div className={`nc-root${props.className ? ` ${props.className}` : ''}`} ref={root} data-testid="notification-center" data-state={center.state}>
      {props.injectStyles === false ? null : (
        <style href={NOTIFY_STYLE_ID} precedence="default">
          {notificationCenterCss}
        </style>
      )}
      <button
        ref={bell}
        type="button"
        className="nc-bell"
        data-testid="notify-bell"
        aria-label={unseen > 0 ? `${label}, ${unseen} new` : label}
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={toggle}
      >
        <BellIcon />
        <span className="nc-badge" data-testid="bell-badge" data-count={unseen} aria-hidden="true">
          {unseen > 99 ? '99+' : unseen}
        </span>
      </button>
      {open ? (
        <NotificationPopover
          center={center}
          tabs={props.tabs ?? DEFAULT_TABS}
          preferences={props.preferences !== false}
          preferenceChannels={props.preferenceChannels ?? DEFAULT_CHANNELS}
          desktop={props.desktopNotifications === false ? null : { permission, request: () => void requestPermission() }}
          {...(props.onOpenNotification ? { onOpenNotification: props.onOpenNotification } : {})}
        />
      ) : null}
      {props.toasts === false ? null : (
        <div ref={toastStack}>
          <ToastStack toasts={toasts.toasts} onDismiss={dismissToast} label={`${label}: alerts`} />
        </div>
      )}
    </div>
  );
}
