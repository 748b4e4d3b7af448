import type { WebClientOptions } from '@slack/web-api';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { AppConfig } from './config/load-config';
import { GrantLifecycle } from './domain/grant-lifecycle';
import { NoticeService } from './domain/notice-service';
import type { Clock, CloudProvider, IdGenerator, PolicySource } from './domain/ports';
import { RequestService } from './domain/request-service';
import { BullMqJobScheduler, closeQueues, createQueues, type Queues } from './jobs/scheduler';
import { type RunningWorkers, startWorkers } from './jobs/workers';
import { systemClock } from './lib/clock';
import type { Logger } from './lib/logger';
import { randomRequestIds } from './lib/request-ids';
import type { DryrunProvider } from './providers/dryrun/dryrun-provider';
import { buildProviders } from './providers/registry';
import { toBoltLogger } from './slack/bolt-logger';
import { BotIdentityResolver, BotTokenRefused } from './slack/bot-identity';
import { SlackNotifier } from './slack/notifier';
import { SlackPeopleDirectory } from './slack/people-directory';
import { registerListeners } from './slack/register-listeners';
import { createSlackApp, type SlackAppHandle } from './slack/slack-app';
import { RedisAuditLog } from './store/audit-log';
import { RedisKeys } from './store/keys';
import { RedisRequestStore } from './store/request-store';

export interface ContainerOptions {
  config: AppConfig;
  logger: Logger;
  clock?: Clock;
  ids?: IdGenerator;
  /** Overrides for every Slack Web API client (tests turn retries off). */
  slackClientOptions?: WebClientOptions;
  /** Run the job workers in this process (default true). */
  runWorkers?: boolean;
  /** Providers built by the caller (an injected credential, a private CA); they replace the default of their name. */
  providers?: readonly CloudProvider[];
}

/** Everything the bot is made of, built in one place; the only module that constructs clients. */
export interface Container {
  keys: RedisKeys;
  redis: Redis;
  store: RedisRequestStore;
  auditLog: RedisAuditLog;
  queues: Queues;
  requests: RequestService;
  lifecycle: GrantLifecycle;
  dryrun: DryrunProvider;
  slack: SlackAppHandle;
  /** Starts Slack and the workers; resolves with the HTTP port (HTTP mode). */
  start(port: number): Promise<{ port: number | undefined }>;
  /** Stops receiving, lets running jobs finish, closes Redis. Safe to call twice. */
  stop(): Promise<void>;
}

export function buildContainer(options: ContainerOptions): Container {
  const { config, logger } = options;
  const { env } = config;
  const clock = options.clock ?? systemClock;
  const keys = new RedisKeys(env.JIT_REDIS_PREFIX);
  const redis = new Redis(env.REDIS_URL, { connectionName: 'jit-store' });
  // BullMQ workers must never give up on a command, or a Redis blip would stop revocations.
  const bullRedis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'jit-jobs' });
  for (const [name, connection] of [
    ['store', redis],
    ['jobs', bullRedis],
  ] as const) {
    connection.on('error', (error) => logger.error({ err: error, connection: name }, 'Redis connection error'));
  }

  const policy: PolicySource = { current: () => config.policy };
  const slackClientOptions: WebClientOptions = {
    logger: toBoltLogger(logger),
    retryConfig: { retries: 2, factor: 2, minTimeout: 500 },
    ...(env.SLACK_API_URL !== undefined && { slackApiUrl: env.SLACK_API_URL }),
    ...options.slackClientOptions,
  };
  const webClient = new WebClient(env.SLACK_BOT_TOKEN, slackClientOptions);

  const store = new RedisRequestStore(redis, keys, logger.child({ component: 'store' }));
  const auditLog = new RedisAuditLog(redis, keys, logger.child({ component: 'audit' }));
  const queues = createQueues(bullRedis, keys.queuePrefix());
  const scheduler = new BullMqJobScheduler(queues, clock, logger);
  // The dry run is always there (cheap, and it lets an operator rehearse any role); clouds only when used.
  const providers = buildProviders(
    ['dryrun', ...config.policy.roles.map((role) => role.provider)],
    {
      env,
      logger,
      clock,
      redis,
      dryrunGrantsKey: keys.dryrunGrants(),
    },
    options.providers,
  );
  const dryrun = providers.find('dryrun') as DryrunProvider;
  const directory = new SlackPeopleDirectory(webClient, clock);

  const requests = new RequestService({
    store,
    scheduler,
    clock,
    ids: options.ids ?? randomRequestIds,
    policy,
    directory,
  });
  const lifecycle = new GrantLifecycle({ store, scheduler, clock, policy, providers, directory });
  const notices = new NoticeService({
    store,
    policy,
    notifier: new SlackNotifier(webClient, { auditChannel: () => config.policy.settings.auditChannel }),
  });

  const identity = new BotIdentityResolver(webClient);
  const slack = createSlackApp(env, logger, slackClientOptions, clock, identity);
  registerListeners(slack.app, { requests, clock, logger: logger.child({ component: 'listeners' }) });

  let workers: RunningWorkers | undefined;
  let stopping: Promise<void> | undefined;
  return {
    keys,
    redis,
    store,
    auditLog,
    queues,
    requests,
    lifecycle,
    dryrun,
    slack,
    async start(port) {
      try {
        const bot = await identity.resolve();
        logger.info({ botUserId: bot.botUserId }, 'Slack accepted the bot token');
      } catch (error) {
        if (error instanceof BotTokenRefused) throw error;
        logger.warn(
          { err: error },
          'Slack is unreachable; starting anyway (revocations go on) and trying again on the next request',
        );
      }
      if (options.runWorkers ?? true) {
        workers = startWorkers({ connection: bullRedis, prefix: keys.queuePrefix(), lifecycle, notices, logger });
      }
      return slack.start(port);
    },
    stop() {
      stopping ??= (async () => {
        await slack
          .stop()
          .catch((error: unknown) => logger.warn({ err: error }, 'Slack receiver did not stop cleanly'));
        await workers?.close();
        await closeQueues(queues);
        await providers.close();
        await Promise.allSettled([redis.quit(), bullRedis.quit()]);
      })();
      return stopping;
    },
  };
}
