/**
 * The browser SDK as one ESM file, and the notification-center demo page.
 *
 *   GET /sdk/notify-client.js   `import { createNotificationClient } from '/sdk/notify-client.js'`
 *   GET /notify-sw.js           the web push service worker (src/client/push/service-worker.js)
 *   GET /demo?token=<jwt>       the demo, signed in as that user (DEMO_PAGE)
 *
 * Both come from the client build (`npm run build:client` → dist/client/), like
 * Socket.IO serving its own client. The SDK is revalidated on every load (ETag) because
 * its URL carries no version. The demo takes its token from the URL, so the page is
 * never cached and never sent as a Referer.
 */
import { access } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { HttpError } from './errors.js';

export interface SdkRouteDeps {
  demoPage: boolean;
  /** Where the client build lives. @default "<project root>/dist/client" */
  clientDir?: string;
}

const JS = 'text/javascript; charset=utf-8';

export function sdkRoutes(deps: SdkRouteDeps): Router {
  const dir = deps.clientDir ?? join(projectRoot(), 'dist', 'client');
  const router = Router();
  const serve = async (res: Response, file: string, headers: Record<string, string>) => {
    const path = join(dir, file);
    try {
      await access(path);
    } catch {
      throw new HttpError('NOT_FOUND', `${file} is not built: run \`npm run build:client\``);
    }
    await new Promise<void>((resolve, reject) =>
      res.sendFile(path, { headers, lastModified: true, etag: true }, (error) => (error ? reject(error) : resolve())),
    );
  };

  router.get('/sdk/notify-client.js', (_req, res) => serve(res, 'notify-client.js', { 'Content-Type': JS, 'Cache-Control': 'no-cache' }));
  // At the root, so a page of this origin can register it for scope "/".
  router.get('/notify-sw.js', (_req, res) => serve(res, 'notify-sw.js', { 'Content-Type': JS, 'Cache-Control': 'no-cache' }));
  router.get('/sdk/notify-client.js.map', (_req, res) => serve(res, 'notify-client.js.map', { 'Cache-Control': 'no-cache' }));
  if (deps.demoPage) {
    router.get('/sdk/demo.js', (_req, res) => serve(res, 'demo.js', { 'Content-Type': JS, 'Cache-Control': 'no-cache' }));
    router.get('/demo', (_req, res) =>
      serve(res, 'demo.html', {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
        'Content-Security-Policy':
          "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
      }),
    );
  }
  return router;
}

/** The directory holding package.json, from src/http (tests) or dist/src/http (built). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}
