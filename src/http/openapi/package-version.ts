/** The version in this package's package.json: the API reference's `info.version`. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'notify-gateway';

/**
 * Walks up from this file (src/http/openapi in a checkout, dist/src/http/openapi when
 * built or installed) to our own package.json, never a host application's.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    }
    dir = dirname(dir);
  }
  throw new Error(`the ${PACKAGE_NAME} package.json was not found above ${fileURLToPath(import.meta.url)}`);
}
