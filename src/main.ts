/** Entry point: load the settings, find Redis, build the container, start Slack and the workers, stop cleanly. */
import { existsSync } from 'node:fs';
import { type AppConfig, loadConfig } from './config/load-config';
import { buildContainer, type Container } from './container';
import { createLogger, type Logger, maskSecrets } from './lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from './providers/registry';
import { prepareRedis } from './startup/prepare-redis';
import { describeStartupFailure, EXIT } from './startup/startup-failure';
import type { LocalRedis } from './store/local-redis';

/** Running jobs get this long to finish on shutdown before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

/** What has been started so far; stopped in reverse order on shutdown and after a failed start. */
const started: { container?: Container; localRedis?: LocalRedis } = {};
let shuttingDown = false;

async function stopEverything(logger: Logger | undefined): Promise<void> {
  try {
    await started.container?.stop();
  } finally {
    // After the bot's own shutdown: its connections close before the local Redis goes.
    await started.localRedis?.stop().catch((error: unknown) => {
      logger?.warn({ err: error }, 'the local redis-server did not stop cleanly');
    });
  }
}

/** Prints what went wrong (its fix for an expected failure, the stack for anything else), stops, and exits. */
async function failStart(error: unknown, config: AppConfig | undefined, logger: Logger | undefined): Promise<never> {
  const failure = describeStartupFailure(error, config?.env.PORT ?? 3000);
  if (failure !== undefined) {
    process.stderr.write(`jit-access-bot cannot start: ${failure.message}\n`);
  } else {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`jit-access-bot failed to start: ${maskSecrets(text)}\n`);
  }
  await stopEverything(logger).catch((stopError: unknown) => {
    logger?.warn({ err: stopError }, 'could not stop everything after the failed start');
  });
  process.exit(failure?.status ?? EXIT.unexpected);
}

function onSignals(logger: Logger): void {
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: no new requests, letting running jobs finish');
    setTimeout(() => {
      logger.error('running jobs did not finish in time; exiting anyway');
      process.exit(EXIT.unexpected);
    }, SHUTDOWN_GRACE_MS).unref();
    stopEverything(logger).then(
      () => {
        logger.info('stopped cleanly');
        process.exit(EXIT.stopped);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(EXIT.unexpected);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // SIGHUP reloads the policy file (the file watcher does too); without this listener it would end the process.
  process.on('SIGHUP', () => {
    if (shuttingDown) return;
    if (started.container === undefined) {
      logger.warn('SIGHUP before start-up finished: the policy file is read again once the bot is running');
      return;
    }
    void started.container.reloadPolicy('SIGHUP');
  });
}

async function main(): Promise<void> {
  let config: AppConfig | undefined;
  let logger: Logger | undefined;
  try {
    if (existsSync('.env')) process.loadEnvFile('.env');
    config = loadConfig(process.env, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS);
    logger = createLogger({ level: config.env.LOG_LEVEL });
    // From here on a signal also stops what start-up has begun, such as a local Redis.
    onSignals(logger);
    for (const warning of config.policy.warnings)
      logger.warn({ policyFile: config.env.JIT_POLICY_FILE }, `policy: ${warning}`);
    const redis = await prepareRedis(config.env, logger);
    started.localRedis = redis.local;
    // Replicas that only answer Slack set JIT_RUN_WORKERS=false; the jobs run in the others.
    started.container = buildContainer({
      config,
      logger,
      runWorkers: config.env.JIT_RUN_WORKERS,
      watchPolicyFile: true,
    });
    const { port } = await started.container.start(config.env.PORT);
    logger.info(
      {
        mode: config.env.SLACK_APP_TOKEN ? 'socket' : 'http',
        port,
        redis: maskSecrets(redis.url),
        roles: config.policy.roles.map((role) => role.id),
        policyFile: config.env.JIT_POLICY_FILE,
      },
      'jit-access-bot is running',
    );
  } catch (error) {
    // A signal during start-up stops what began; what fails because of that stop is not a start-up failure.
    if (shuttingDown) return;
    await failStart(error, config, logger);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`jit-access-bot failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(EXIT.unexpected);
});
