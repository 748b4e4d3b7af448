import { existsSync } from 'node:fs';
import { ConfigError } from './config/config-error';
import { loadConfig } from './config/load-config';
import { buildContainer } from './container';
import { createLogger } from './lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_TARGET_SCHEMAS } from './providers/registry';
import { BotTokenRefused } from './slack/bot-identity';
import { RedisSettingsRefused } from './store/redis-checks';

/** Running jobs get this long to finish on shutdown before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`jit-access-bot cannot start.\n${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.env.LOG_LEVEL });
  for (const warning of config.policy.warnings)
    logger.warn({ policyFile: config.env.JIT_POLICY_FILE }, `policy: ${warning}`);
  // Replicas that only answer Slack set JIT_RUN_WORKERS=false; the jobs run in the others.
  const container = buildContainer({ config, logger, runWorkers: config.env.JIT_RUN_WORKERS });
  let port: number | undefined;
  try {
    ({ port } = await container.start(config.env.PORT));
  } catch (error) {
    if (error instanceof BotTokenRefused || error instanceof RedisSettingsRefused) {
      logger.fatal({ err: error }, error.message);
      process.stderr.write(`jit-access-bot cannot start.\n${error.message}\n`);
      await container.stop();
      process.exit(78);
    }
    throw error;
  }
  logger.info(
    {
      mode: config.env.SLACK_APP_TOKEN ? 'socket' : 'http',
      port,
      roles: config.policy.roles.map((role) => role.id),
      policyFile: config.env.JIT_POLICY_FILE,
    },
    'jit-access-bot is running',
  );

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: no new requests, letting running jobs finish');
    setTimeout(() => {
      logger.error('running jobs did not finish in time; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    container.stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`jit-access-bot failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
