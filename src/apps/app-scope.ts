/**
 * Apps: isolated tenants, users, topics and rooms on one gateway (README "Apps").
 *
 * An app is a Socket.IO namespace (`/<appId>`; `/` is the default app). In storage an
 * app's tenant is the key `<appId>~<tenantId>` (tenant ids never contain `~`), so every
 * query, unique key and count already scoped by tenant is scoped by app too, and the
 * default app's keys are exactly what they were before apps existed. The composite key is
 * made where a request or a token enters (auth) and taken apart where a tenant id leaves
 * (responses, wire payloads); nothing in between needs to know about apps.
 */
export const DEFAULT_APP = 'default';

/** Lower-case, namespace- and URL-safe; `default` names the `/` namespace. */
export const APP_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const SEPARATOR = '~';

export const namespaceOf = (app: string): string => (app === DEFAULT_APP ? '/' : `/${app}`);

/** The namespace's app, or null for a name that is not an app's namespace. */
export function appOfNamespace(name: string): string | null {
  if (name === '/') return DEFAULT_APP;
  const app = name.slice(1);
  return name.startsWith('/') && APP_ID.test(app) && app !== DEFAULT_APP ? app : null;
}

/** The tenant key rows, rooms and caches use. */
export const storageTenant = (app: string, tenantId: string): string =>
  app === DEFAULT_APP ? tenantId : `${app}${SEPARATOR}${tenantId}`;

/** A storage tenant key taken apart: the app and the tenant id its clients know. */
export function splitTenant(key: string): { app: string; tenantId: string } {
  return { app: appOfTenant(key), tenantId: publicTenant(key) };
}

// The two below run per notification (wire payloads, emits): no object per call.
/** The tenant id as the app's clients and back ends know it. */
export function publicTenant(key: string): string {
  const at = key.indexOf(SEPARATOR);
  return at < 0 ? key : key.slice(at + 1);
}

export function appOfTenant(key: string): string {
  const at = key.indexOf(SEPARATOR);
  return at < 0 ? DEFAULT_APP : key.slice(0, at);
}

/** Every app a gateway serves: the default app, and each app an API key is bound to. */
export function servedApps(keys: readonly { app: string }[]): string[] {
  return [...new Set([DEFAULT_APP, ...keys.map((k) => k.app)])];
}

/**
 * Announcements to a whole app (`scope: "app"`) are stored once under this tenant of the
 * app; no tenant id can be `*`, so it is nobody's tenant and every tenant's to read.
 */
const APP_WIDE_TENANT = '*';

export const appWideKey = (app: string): string => storageTenant(app, APP_WIDE_TENANT);

/** The app-wide key of the app a storage tenant key belongs to. */
export const appWideKeyOf = (tenantKey: string): string => appWideKey(appOfTenant(tenantKey));
