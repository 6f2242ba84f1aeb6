/**
 * Composition root: config → dev credentials → wait for dependencies → gateway → listen
 * → signals.
 *
 * Start-up with a dependency down: a bad setting exits at once (ConfigError). A MySQL
 * (DATABASE_URL) or Redis (REDIS_URL) that does not answer yet is waited for, with
 * backoff and a log line naming the variable (startup/dependencies.ts); meanwhile a
 * starting server holds the port (/healthz 200, /readyz 503). Once both answer the
 * gateway is built (migrations, subscriptions), the starting server closes and the
 * gateway listens on the same port; only then the banner and pm2's `ready`.
 */
import { ConfigError, parseConfig } from './config/config.js';
import { describeDemo, withDevCredentials } from './config/dev-credentials.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { dependenciesOf, waitForDependencies } from './startup/dependencies.js';
import { startStartingServer } from './startup/starting-server.js';

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
  const dependencies = dependenciesOf(effective);
  // Port 0 (any free port) could not be handed over: no starting server then.
  const starting =
    dependencies.length > 0 && effective.PORT !== 0 ? await startStartingServer(effective.PORT, effective.HOST, dependencies) : null;
  await waitForDependencies(dependencies, logger, { onWaiting: (waiting) => starting?.waitingFor(waiting) });
  let shutdown: (signal: string, exitCode?: number) => Promise<void> = async () => process.exit(1);
  const gateway = await createGateway(effective, {
    logger,
    // Its writes fail until it restarts with the new layout: exit, and the supervisor (pm2) restarts it.
    onStreamLayoutChanged: () => void shutdown('stream layout changed', 1),
  });
  await starting?.close();
  const port = await gateway.listen();
  logger.info(
    { port, store: gateway.store.dialect.name, fanout: effective.REDIS_CLUSTER_NODES ? 'redis-cluster' : effective.REDIS_URL ? 'redis' : 'local' },
    'notify gateway listening',
  );
  if (demo) process.stdout.write(describeDemo(demo, `http://localhost:${port}`));
  // pm2 (wait_ready) starts the next instance of a reload only after this.
  process.send?.('ready');

  let stopping = false;
  shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await gateway.close();
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`notify-gateway failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
