import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseEnv } from '../src/config/env-schema';
import { parsePolicy } from '../src/config/policy-schema';
import { buildContainer, type Container } from '../src/container';
import { createLogger } from '../src/lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../src/providers/registry';
import { type FakeCloudOptions, LatencyCloudProvider } from './latency-provider';

export const BENCH_CHANNEL = 'C0BENCH';
export const BENCH_APPROVER = 'U0APPROVER';

/** Roles of the bench: one an approver must approve, one approved at once. */
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

export interface BenchBotOptions {
  redisUrl: string;
  prefix: string;
  slackApiUrl: string;
  signingSecret?: string;
  cloud: FakeCloudOptions;
  /** Defaults to `warn`. */
  logLevel?: string;
}

export interface BenchBot {
  container: Container;
  eventsUrl: string;
  signingSecret: string;
  rssBytes(): Promise<number>;
  stop(): Promise<void>;
}

/** The real bot (Bolt HTTP receiver, Redis store, BullMQ workers) on the fake cloud, logging only warnings. */
export async function startBenchBot(options: BenchBotOptions): Promise<BenchBot> {
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const env = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-bench-0000',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: options.slackApiUrl,
    REDIS_URL: options.redisUrl,
    JIT_REDIS_PREFIX: options.prefix,
    PORT: '0',
    LOG_LEVEL: options.logLevel ?? 'warn',
  });
  const policy = parsePolicy(
    BENCH_POLICY,
    'bench policy',
    PROVIDER_TARGET_SCHEMAS,
    PROVIDER_IAM_POWER,
    PROVIDER_PROPAGATION_MS,
  );
  const cloudRedis = new Redis(options.redisUrl, { connectionName: 'bench-cloud' });
  const container = buildContainer({
    config: { env, policy },
    logger: createLogger({ level: options.logLevel ?? 'warn' }),
    slackClientOptions: { retryConfig: { retries: 0 } },
    providers: [new LatencyCloudProvider(cloudRedis, options.prefix, options.cloud)],
  });
  const { port } = await container.start(0);
  return {
    container,
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret,
    async rssBytes() {
      return process.memoryUsage().rss;
    },
    async stop() {
      await container.stop();
      await cloudRedis.quit();
    },
  };
}
