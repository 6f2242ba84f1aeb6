/**
 * `npm run migrate` (or `node dist/src/store/migrate-cli.js`): applies migrations once,
 * e.g. as a deploy step before the instances start. The gateway also migrates on start.
 */
import { ConfigError, parseConfig } from '../config/config.js';
import { createStore } from './store.js';

try {
  const config = parseConfig(process.env);
  const store = createStore(config.DATABASE_URL, { poolMax: 1, acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS });
  await store.migrate();
  await store.close();
  process.stdout.write(`migrations applied (${store.dialect.name})\n`);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`migrate failed: ${message}\n`);
  process.exit(1);
}
