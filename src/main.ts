/** Composition root: config → dev credentials → gateway → listen → signals. */
import { ConfigError, parseConfig } from './config/config.js';
import { describeDemo, withDevCredentials } from './config/dev-credentials.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logger.js';

/** pm2 and docker send SIGTERM then SIGKILL after their timeout; finish well before that. */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`notify-gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { config: effective, demo } = withDevCredentials(config);
  const logger = createLogger(effective.LOG_LEVEL);
  const gateway = await createGateway(effective, { logger });
  const port = await gateway.listen();
  logger.info(
    { port, store: gateway.store.dialect.name, fanout: effective.REDIS_URL ? 'redis' : 'local' },
    'notify gateway listening',
  );
  if (demo) process.stdout.write(describeDemo(demo, `http://localhost:${port}`));
  // pm2 (wait_ready) starts the next instance of a reload only after this.
  process.send?.('ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await gateway.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`notify-gateway failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
