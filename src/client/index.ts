/**
 * The browser SDK: `import { createNotificationClient } from '/sdk/notify-client.js'`
 * (served by the gateway) or from this module in a bundled app. React binding: ./react.ts.
 */
export { createNotificationClient, NotificationClient } from './notification-client.js';
export { NotificationCenter, type CenterItem, type CenterOptions, type CenterSnapshot, type CenterStatus } from './notification-center.js';
export { HttpStatusError, type Counts, type HistoryPage, type ListOptions, type ValidationDetail } from './rest-api.js';
export { memoryStorage } from './support.js';
export { isPushSupported, registerPush, unregisterPush, type RegisterPushOptions } from './push/register-push.js';
export type * from './types.js';
