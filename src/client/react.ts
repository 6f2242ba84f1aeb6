'use client';
/**
 * `notify-gateway/client/react`: the hooks and the drop-in component, for React and the
 * Next.js App Router (`'use client'`: the bundle keeps the directive, so a server
 * component may render `<NotificationCenter />` directly).
 */
export { useNotifications, type UseNotificationsOptions, type UseNotificationsResult } from './use-notifications.js';
export { useTopic, type UseTopicOptions, type UseTopicResult } from './use-topic.js';
export { NotificationCenter, wantsToast, type NotificationCenterProps } from './ui/notification-center-view.js';
export { notificationCenterCss } from './ui/styles.js';
export { desktopPermission, requestDesktopPermission, type DesktopOutcome, type DesktopPermission } from './ui/desktop-notifications.js';
export type { CenterItem, CenterSnapshot, CenterStatus } from './notification-center.js';
export type * from './types.js';
