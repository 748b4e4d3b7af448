/** The bot as the bench runs it: the real container, with the cloud each phase measures it against. */
import { randomBytes } from 'node:crypto';
import type * as AzureIdentity from '@azure/identity';
import { Redis } from 'ioredis';
import { type EnvConfig, parseEnv } from '../src/config/env-schema';
import { parsePolicy } from '../src/config/policy-schema';
import { buildContainer, type Container } from '../src/container';
import type { CloudProvider } from '../src/domain/ports';
import { createLogger, type Logger } from '../src/lib/logger';
import type * as AzureProviderModule from '../src/providers/azure/azure-provider';
import type { AzureProvider } from '../src/providers/azure/azure-provider';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../src/providers/registry';
import type { ProviderPacing } from '../src/providers/retry';
import { RedisCallPacer } from '../src/store/call-pacer';
import { RedisKeys } from '../src/store/keys';
import { type FakeCloudOptions, LatencyCloudProvider } from './latency-provider';

export const BENCH_CHANNEL = 'C0BENCH';
export const BENCH_APPROVER = 'U0APPROVER';
/** Where the bot posts its alerts (a revocation that keeps failing); the paced phase counts them here. */
export const BENCH_ADMIN_CHANNEL = 'C0BENCHADMIN';

/** Roles of the latency phases: one an approver must approve, one approved at once. */
export const BENCH_POLICY = `
settings:
  minDuration: 1s
  maxDuration: 8h
  approvalTimeout: 1h
  maxOpenRequestsPerPerson: 1000
  # The sweep would also end expired grants; the bench measures the revoke jobs alone.
  reconcileEvery: 1h
roles:
  - id: bench-gated
    description: Approved by an approver
    provider: dryrun
    approvalChannel: ${BENCH_CHANNEL}
    approvers:
      users: [${BENCH_APPROVER}]
  - id: bench-auto
    description: Approved at once
    provider: dryrun
    approvalChannel: ${BENCH_CHANNEL}
    autoApprove: true
`;

/**
 * The `settings:` of a phase's own policy (gcp-coalesce, paced): the bench's limits, the sweep out of the way (it
 * would also end expired grants; the bench measures the revoke jobs alone), alerts to the admin channel, then
 * `extra` lines.
 */
export function phaseSettings(extra = ''): string {
  return `
settings:
  minDuration: 1s
  maxDuration: 8h
  maxOpenRequestsPerPerson: 1000
  reconcileEvery: 1h
  adminChannel: ${BENCH_ADMIN_CHANNEL}${extra}`;
}

/**
 * A local Azure the bot's own `AzureProvider` signs in to. Everything but the credential and the trust in the
 * fake's certificate is the production provider (as `azureProviderFor` builds it in the tests); these are plain
 * values because the bot may run in another process.
 */
export interface BenchAzure {
  url: string;
  graphUrl: string;
  /** The PEM certificate of the fake, trusted for ARM, Graph and the sign-in. */
  ca: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface BenchBotOptions {
  redisUrl: string;
  prefix: string;
  slackApiUrl: string;
  signingSecret?: string;
  /** The policy file; {@link BENCH_POLICY} when absent. */
  policy?: string;
  /** Settings the bot reads from its environment, e.g. `GCP_RESOURCE_MANAGER_ENDPOINT`. */
  env?: Record<string, string>;
  /** The fake cloud standing in for `dryrun` roles; the bot's dry-run provider when absent. */
  latencyCloud?: FakeCloudOptions;
  /** The local Azure for `azure` roles. */
  azure?: BenchAzure;
  /** Defaults to `warn`. */
  logLevel?: string;
}

export interface BenchBot {
  container: Container;
  eventsUrl: string;
  signingSecret: string;
  rssBytes(): Promise<number>;
  /** The text of the bot's `/metrics`. */
  metricsText(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The environment the bench bot parses: the bot's defaults, except what the bench must set. */
export function benchEnv(options: Omit<BenchBotOptions, 'signingSecret'> & { signingSecret: string }): EnvConfig {
  return parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-bench-0000',
    SLACK_SIGNING_SECRET: options.signingSecret,
    SLACK_API_URL: options.slackApiUrl,
    REDIS_URL: options.redisUrl,
    JIT_REDIS_PREFIX: options.prefix,
    PORT: '0',
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...options.env,
  });
}

/**
 * How many revocations one bot process runs at once by default (`JIT_REVOKE_CONCURRENCY`), read from the bot's
 * own configuration so the floor of the expiry phase follows it.
 */
export function defaultRevokeConcurrency(): number {
  return benchEnv({
    redisUrl: 'redis://127.0.0.1:6379',
    prefix: 'jitbench',
    slackApiUrl: 'http://127.0.0.1/',
    signingSecret: randomBytes(16).toString('hex'),
  }).JIT_REVOKE_CONCURRENCY;
}

/** The real bot (Bolt HTTP receiver, Redis store, BullMQ workers) on the bench's clouds, logging only warnings. */
export async function startBenchBot(options: BenchBotOptions): Promise<BenchBot> {
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const env = benchEnv({ ...options, signingSecret });
  const policy = parsePolicy(
    options.policy ?? BENCH_POLICY,
    'bench policy',
    PROVIDER_TARGET_SCHEMAS,
    PROVIDER_IAM_POWER,
    PROVIDER_PROPAGATION_MS,
  );
  const logger = createLogger({ level: options.logLevel ?? 'warn' });
  const cloudRedis = new Redis(options.redisUrl, { connectionName: 'bench-cloud' });
  // Only the providers that need something the environment cannot say; the registry builds the others (GCP
  // from GCP_RESOURCE_MANAGER_ENDPOINT and Application Default Credentials), as in production.
  const providers: CloudProvider[] = [];
  if (options.latencyCloud) providers.push(new LatencyCloudProvider(cloudRedis, options.prefix, options.latencyCloud));
  if (options.azure) {
    // The pacing the registry gives every provider: the Redis pacer all processes share, at the policy's rates.
    const pacing: ProviderPacing = {
      pacer: new RedisCallPacer(cloudRedis, new RedisKeys(options.prefix)),
      rateOf: (api) => policy.settings.cloudRates[api],
    };
    providers.push(benchAzureProvider(options.azure, logger, pacing));
  }
  const container = buildContainer({
    config: { env, policy },
    logger,
    // As main.ts: a process told JIT_RUN_WORKERS=false (--split) answers Slack and runs no job workers.
    runWorkers: env.JIT_RUN_WORKERS,
    slackClientOptions: { retryConfig: { retries: 0 } },
    providers,
  });
  const { port } = await container.start(0);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    container,
    eventsUrl: `${baseUrl}/slack/events`,
    signingSecret,
    async rssBytes() {
      return process.memoryUsage().rss;
    },
    async metricsText() {
      return [await (await fetch(`${baseUrl}/metrics`)).text()];
    },
    async stop() {
      await container.stop();
      await cloudRedis.quit();
    },
  };
}

/**
 * The production Azure provider against the bench's local Azure, paced as the registry paces it. The registry
 * cannot build it here: its `DefaultAzureCredential` asks Microsoft's public sign-in host about any other
 * authority host before signing in, which a machine without internet cannot reach; a credential with that
 * discovery off, trusting the fake's certificate, is injected instead.
 */
function benchAzureProvider(azure: BenchAzure, logger: Logger, pacing: ProviderPacing): AzureProvider {
  // Loaded here, as the registry loads a cloud's SDK only for a policy that uses it: the bot of the other phases
  // then has the resident memory of a bot without Azure roles.
  const { ClientSecretCredential } = require('@azure/identity') as typeof AzureIdentity;
  const { AzureProvider } = require('../src/providers/azure/azure-provider') as typeof AzureProviderModule;
  const tlsOptions = { ca: azure.ca };
  return new AzureProvider({
    logger: logger.child({ provider: 'azure' }),
    pacing,
    resourceManagerEndpoint: azure.url,
    graphEndpoint: azure.graphUrl,
    credential: new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret, {
      authorityHost: azure.url,
      disableInstanceDiscovery: true,
      tlsOptions,
    }),
    tlsOptions,
  });
}
