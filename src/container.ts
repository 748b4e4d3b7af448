/**
 * The composition root: every part of the bot built and wired in one file, so that the wiring reads as one; hence
 * its length.
 */
import { WebClient, type WebClientOptions } from '@slack/web-api';
import { Redis } from 'ioredis';
import { randomRequestIds } from './adapters/random-request-ids';
import { auditWebhookSecret, auditWebhookSecretProblem, type Environment } from './config/audit-webhook-secret';
import { type AppConfig, parsePolicyFileText, readPolicyFile } from './config/load-config';
import {
  POLICY_REPORT_WINDOW_MS,
  PolicyReloader,
  ReloadablePolicy,
  type ReloadOutcome,
  type ReloadTrigger,
} from './config/policy-reloader';
import { AuditService } from './domain/audit-service';
import { GrantLifecycle } from './domain/grant-lifecycle';
import { NoticeService } from './domain/notice-service';
import { OverviewService } from './domain/overview';
import type { Clock, CloudProvider, IdGenerator } from './domain/ports';
import { Reconciler } from './domain/reconciler';
import { RequestService } from './domain/request-service';
import { RevocationMonitor } from './domain/revocation-monitor';
import { opsRoutes } from './http/ops-routes';
import type { AuditWebhookTarget } from './jobs/audit-webhook-client';
import { ExpiryWatch } from './jobs/expiry-watch';
import { QueuedAlerter } from './jobs/queued-alerter';
import { BullMqJobScheduler, closeQueues, createQueues, type Queues } from './jobs/scheduler';
import { type RunningWorkers, startWorkers } from './jobs/workers';
import { systemClock } from './lib/clock';
import type { Logger } from './lib/logger';
import { Metrics } from './lib/metrics';
import type { DryrunProvider } from './providers/dryrun/dryrun-provider';
import {
  buildProviders,
  PROVIDER_IAM_POWER,
  PROVIDER_PROPAGATION_MS,
  PROVIDER_TARGET_SCHEMAS,
} from './providers/registry';
import { SlackAlerter } from './slack/alerter';
import { toBoltLogger } from './slack/bolt-logger';
import { BotIdentityResolver, BotTokenRefused } from './slack/bot-identity';
import { SlackNotifier } from './slack/notifier';
import { SlackPeopleDirectory } from './slack/people-directory';
import { registerListeners } from './slack/register-listeners';
import { createSlackApp, type SlackAppHandle } from './slack/slack-app';
import { slackFetch } from './slack/slack-fetch';
import { RedisAuditLog } from './store/audit-log';
import { AuditWebhookCursor } from './store/audit-webhook-cursor';
import { RedisCallPacer } from './store/call-pacer';
import { RedisExpiryWatermark } from './store/expiry-watermark';
import { RedisGaugeReader } from './store/gauge-reader';
import { RedisGrantCheckpoints } from './store/grant-checkpoints';
import { RedisHomeViewers } from './store/home-viewers';
import { RedisIrrevocableGrants } from './store/irrevocable-grants';
import { RedisKeys } from './store/keys';
import { RedisOperationSlotPool } from './store/operation-slot-pool';
import { checkRedisSettings, pingRedis } from './store/redis-checks';
import { RedisConnectionWatch } from './store/redis-connection';
import { RedisRequestStore } from './store/request-store';
import { RedisResourceTurns } from './store/resource-turns';
import { RedisUsergroupCache } from './store/usergroup-cache';

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
  /** Reload the policy file (`JIT_POLICY_FILE`) whenever it changes (default false; the process turns it on). */
  watchPolicyFile?: boolean;
  /** Where secrets the policy names by variable (`settings.auditWebhook.secretEnv`) are read; default `process.env`. */
  environment?: Environment;
}

/** How often a process with workers asks the audit webhook job to send what is new. */
const AUDIT_WEBHOOK_POLL_MS = 1_000;

/**
 * Everything the running bot is made of, wired in one place: its Redis connections and Slack clients are made here
 * and handed to the parts that use them. Each cloud provider builds its own SDK clients (`providers/registry.ts`),
 * and BullMQ builds its queues' and workers' connections from the one given to the job layer.
 */
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
  metrics: Metrics;
  /** The policy in force. */
  policy: ReloadablePolicy;
  /** Reads the policy file again and puts it in force if it is valid (SIGHUP); never throws. */
  reloadPolicy(trigger: ReloadTrigger): Promise<ReloadOutcome>;
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
  // Auto-pipelining sends the commands issued in one tick in one write: when many jobs run at once (a burst of
  // expiries) that is one socket write instead of one per command (in the bench, about 8% less bot CPU each).
  const redis = new Redis(env.REDIS_URL, { connectionName: 'jit-store', enableAutoPipelining: true });
  // BullMQ workers must never give up on a command, or a Redis blip would stop revocations.
  const bullRedis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'jit-jobs' });
  // One line when Redis goes and one when it is back, instead of an error per connection per reconnect attempt.
  // BullMQ's own duplicates of bullRedis fail and recover with it; the job layer drops their connection errors.
  const redisWatch = new RedisConnectionWatch(env.REDIS_URL, logger.child({ component: 'redis' }));
  redisWatch.watch('store', redis);
  redisWatch.watch('jobs', bullRedis);

  // Read at each decision; a reload (SIGHUP, or the file changed) swaps it.
  const policy = new ReloadablePolicy(config.policy);
  const slackTransport = slackFetch();
  const slackClientOptions: WebClientOptions = {
    logger: toBoltLogger(logger),
    fetch: slackTransport,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500 },
    ...(env.SLACK_API_URL !== undefined && { slackApiUrl: env.SLACK_API_URL }),
    ...options.slackClientOptions,
  };
  const webClient = new WebClient(env.SLACK_BOT_TOKEN, slackClientOptions);
  // Jobs must not sleep inside a call Slack rate-limits: the notify queue pauses and retries instead.
  const jobsWebClient = new WebClient(env.SLACK_BOT_TOKEN, { ...slackClientOptions, rejectRateLimitedCalls: true });

  const store = new RedisRequestStore(redis, keys, logger.child({ component: 'store' }));
  const auditCursor = new AuditWebhookCursor(redis, keys);
  const auditLog = new RedisAuditLog(redis, keys, logger.child({ component: 'audit' }), async () =>
    // Only while a webhook is configured: a cursor left by a removed one must not hold retention back for ever.
    policy.current().settings.auditWebhook !== undefined ? auditCursor.get() : undefined,
  );
  const queues = createQueues(bullRedis, keys.queuePrefix(), logger.child({ component: 'jobs' }));
  const metrics = new Metrics({
    store: new RedisGaugeReader(redis, keys),
    queues: Object.values(queues),
    logger: logger.child({ component: 'metrics' }),
  });
  const scheduler = new BullMqJobScheduler(queues, clock, logger);
  const environment = options.environment ?? process.env;
  /** The webhook in force (read at each run, so a reload applies), with its secret from the environment. */
  const auditWebhookTarget = (): AuditWebhookTarget | undefined => {
    const current = policy.current();
    const secret = auditWebhookSecret(current, environment);
    const webhook = current.settings.auditWebhook;
    return webhook && secret !== undefined ? { url: webhook.url, secret, timeoutMs: webhook.timeoutMs } : undefined;
  };
  // The dry run is always there (cheap, and it lets an operator rehearse any role); clouds only when used.
  const providers = buildProviders(
    ['dryrun', ...config.policy.roles.map((role) => role.provider)],
    {
      env,
      logger,
      clock,
      redis,
      dryrunGrantsKey: keys.dryrunGrants(),
      checkpoints: new RedisGrantCheckpoints(redis, keys),
      turns: new RedisResourceTurns(redis, keys, { logger: logger.child({ component: 'turns' }) }),
      pacer: new RedisCallPacer(redis, keys),
      operationSlots: new RedisOperationSlotPool(redis, keys, { logger: logger.child({ component: 'slots' }) }),
      callRate: (api) => policy.current().settings.cloudRates[api],
    },
    options.providers,
  );
  const dryrun = providers.find('dryrun') as DryrunProvider;
  const directory = new SlackPeopleDirectory(webClient, clock, new RedisUsergroupCache(redis, keys));

  const alerter = new QueuedAlerter(queues.notify, logger.child({ component: 'alerts' }));
  const alertPoster = new SlackAlerter(
    jobsWebClient,
    { adminChannel: () => policy.current().settings.adminChannel },
    clock,
    logger.child({ component: 'alerts' }),
  );
  const requests = new RequestService({
    audit: auditLog,
    alerter,
    store,
    scheduler,
    clock,
    ids: options.ids ?? randomRequestIds,
    policy,
    directory,
  });
  const lifecycle = new GrantLifecycle({
    store,
    scheduler,
    clock,
    policy,
    providers,
    directory,
    audit: auditLog,
    alerter,
  });
  const irrevocable = new RedisIrrevocableGrants(redis, keys);
  const monitor = new RevocationMonitor({ alerter, audit: auditLog, irrevocable, policy, clock });
  const reconciler = new Reconciler({ store, scheduler, clock, policy, providers, audit: auditLog, alerter });
  const overview = new OverviewService({
    store,
    policy,
    directory,
    clock,
    homeViewers: new RedisHomeViewers(redis, keys),
  });
  const notices = new NoticeService({
    store,
    policy,
    notifier: new SlackNotifier(jobsWebClient, {
      auditChannel: () => policy.current().settings.auditChannel,
      minDurationMs: () => policy.current().settings.minDurationMs,
      clock,
    }),
    overview,
    scheduler,
    clock,
  });

  const reloader = new PolicyReloader({
    file: env.JIT_POLICY_FILE,
    policy,
    read: readPolicyFile,
    parse: (text) =>
      parsePolicyFileText(
        text,
        env.JIT_POLICY_FILE,
        PROVIDER_TARGET_SCHEMAS,
        PROVIDER_IAM_POWER,
        PROVIDER_PROPAGATION_MS,
      ),
    // A provider builds its SDK clients (and checks its settings) once, at start, for the clouds the policy uses.
    needsRestart: (next) => {
      const secretProblem = auditWebhookSecretProblem(next, environment);
      return [
        ...next.roles.flatMap((role, index) =>
          providers.find(role.provider) === undefined
            ? [
                `roles[${index}].provider: ${role.provider} was not used when the bot started, so its client was not built: restart the bot to add the first ${role.provider} role`,
              ]
            : [],
        ),
        // The environment is read at start; a webhook whose secret it lacks cannot be signed until a restart.
        ...(secretProblem !== undefined ? [secretProblem] : []),
      ];
    },
    onApplied: async (next, previous) => {
      const everyMs = next.settings.reconcileEveryMs;
      if (workers !== undefined && everyMs !== previous.settings.reconcileEveryMs) {
        await scheduler.scheduleReconciler(everyMs);
      }
    },
    alerter,
    audit: auditLog,
    // Every replica reloads the same file; the first to claim an outcome alerts and audits it.
    claimOnce: async (key) =>
      (await redis.set(keys.policyReload(key), '1', 'PX', POLICY_REPORT_WINDOW_MS, 'NX')) === 'OK',
    clock,
    logger: logger.child({ component: 'policy' }),
  });

  const identity = new BotIdentityResolver(webClient);
  const routes = opsRoutes({
    metrics,
    pingRedis: () => pingRedis(redis),
    // A process started without workers is ready when Redis is.
    workersRunning: () => !(options.runWorkers ?? true) || (workers?.workers.every((w) => w.isRunning()) ?? false),
    logger: logger.child({ component: 'ops' }),
  });
  const slack = createSlackApp(env, logger, slackClientOptions, clock, identity, routes, metrics);
  const audit = new AuditService({ auditLog, policy, directory, clock });
  registerListeners(slack.app, {
    requests,
    overview,
    audit,
    usergroups: directory,
    clock,
    logger: logger.child({ component: 'listeners' }),
  });

  let workers: RunningWorkers | undefined;
  let expiryWatch: ExpiryWatch | undefined;
  // Stopping a receiver that never started rejects; a refused start (bad token, port in use) must not say so.
  let slackStarted = false;
  let reconcileKeeper: NodeJS.Timeout | undefined;
  let auditWebhookPoll: NodeJS.Timeout | undefined;
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
    metrics,
    policy,
    reloadPolicy: (trigger) => reloader.reload(trigger),
    async start(port) {
      // Before anything else, and before the workers: a Redis that may evict keys could lose a revocation.
      await checkRedisSettings(redis, logger);
      // Refuses a webhook whose secret variable is unset (ConfigError, exit 78), before anything runs.
      if (auditWebhookTarget() !== undefined) {
        const cursor = await auditCursor.startAtEndIfUnset();
        logger.info({ cursor }, 'audit events go to settings.auditWebhook, from the entry after the cursor');
      }
      try {
        const bot = await identity.resolve();
        logger.info({ botUserId: bot.botUserId }, 'Slack accepted the bot token');
      } catch (error) {
        if (error instanceof BotTokenRefused) throw error;
        // An expected condition (no network, Slack down): the reason, not a stack, and the URL to check.
        logger.warn(
          { reason: error instanceof Error ? error.message : String(error), slackApiUrl: env.SLACK_API_URL },
          'Slack is unreachable; starting anyway (revocations go on) and trying again on the next request',
        );
      }
      if (options.runWorkers ?? true) {
        workers = startWorkers({
          connection: bullRedis,
          prefix: keys.queuePrefix(),
          lifecycle,
          notices,
          alertPoster,
          monitor,
          reconciler,
          auditWebhook: {
            target: auditWebhookTarget,
            source: `jit-access-bot/${env.JIT_REDIS_PREFIX}`,
            stream: auditLog,
            cursor: auditCursor,
            alerter,
          },
          metrics,
          clock,
          logger,
          lockDurationMs: env.JIT_JOB_LOCK_MS,
          concurrency: { grant: env.JIT_GRANT_CONCURRENCY, revoke: env.JIT_REVOKE_CONCURRENCY },
        });
        expiryWatch = new ExpiryWatch({
          watermark: new RedisExpiryWatermark(redis, keys),
          revokeQueue: queues.revoke,
          clock,
          logger: logger.child({ component: 'expiry-watch' }),
        });
        expiryWatch.start();
        const everyMs = policy.current().settings.reconcileEveryMs;
        await scheduler.scheduleReconciler(everyMs);
        // Upserted again on every period: if Redis lost its data, the sweep that ends forgotten grants resumes.
        // A reload that changes the period reschedules at once (onApplied); this keeps the period it started with.
        reconcileKeeper = setInterval(() => {
          scheduler.scheduleReconciler(policy.current().settings.reconcileEveryMs).catch((error: unknown) => {
            logger.warn({ err: error }, 'could not re-register the reconciler schedule');
          });
        }, everyMs);
        reconcileKeeper.unref();
        // Cheap when there is nothing new, and a no-op while the sender runs or backs off (its job ID is fixed).
        auditWebhookPoll = setInterval(() => {
          if (policy.current().settings.auditWebhook === undefined) return;
          scheduler.sendAuditTrail().catch((error: unknown) => {
            logger.warn({ err: error }, 'could not ask for the audit webhook to send');
          });
        }, AUDIT_WEBHOOK_POLL_MS);
        auditWebhookPoll.unref();
      }
      const started = await slack.start(port);
      slackStarted = true;
      if (options.watchPolicyFile) reloader.start();
      return started;
    },
    stop() {
      stopping ??= (async () => {
        if (slackStarted) {
          await slack
            .stop()
            .catch((error: unknown) => logger.warn({ err: error }, 'Slack receiver did not stop cleanly'));
        }
        reloader.stop();
        clearInterval(reconcileKeeper);
        clearInterval(auditWebhookPoll);
        await expiryWatch?.stop();
        await workers?.close();
        await closeQueues(queues);
        await providers.close();
        redisWatch.close();
        await Promise.allSettled([redis.quit(), bullRedis.quit()]);
        slackTransport.close();
      })();
      return stopping;
    },
  };
}
