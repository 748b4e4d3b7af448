import { randomUUID } from 'node:crypto';
import { parseEnv } from '../../src/config/env-schema';
import { parsePolicy } from '../../src/config/policy-schema';
import { buildContainer } from '../../src/container';
import { createLogger } from '../../src/lib/logger';
import { PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import { RedisSettingsRefused } from '../../src/store/redis-checks';
import { freePort } from '../support/free-port';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server';
import { startTestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

describe('Redis settings checked at start-up', () => {
  const servers: RedisServerHandle[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('refuses Redis that may evict keys, naming the policy and the fix, before any worker starts', async () => {
    const redis = await startRedisServer({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    servers.push(redis);
    const env = parseEnv({
      SLACK_BOT_TOKEN: 'xoxb-redis-check',
      SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef',
      // Nothing listens there: the check must refuse before Slack is asked anything.
      SLACK_API_URL: `http://127.0.0.1:${await freePort()}/api/`,
      REDIS_URL: redis.url,
      JIT_REDIS_PREFIX: `jit-check-${randomUUID().slice(0, 8)}`,
      PORT: '0',
    });
    // BullMQ's queues connect as they are built and warn on the console about this very policy; that warning is
    // expected here, so it is caught and checked rather than printed.
    const bullmqWarnings = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const container = buildContainer({
      config: { env, policy: parsePolicy(TEST_POLICY, 'test policy', PROVIDER_TARGET_SCHEMAS) },
      logger: createLogger({ level: 'silent' }),
      slackClientOptions: { retryConfig: { retries: 0 } },
    });
    try {
      const refusal = await container.start(0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(RedisSettingsRefused);
      const { message } = refusal as RedisSettingsRefused;
      expect(message).toContain('Redis maxmemory-policy is "allkeys-lru"; the bot needs "noeviction"');
      expect(message).toContain('CONFIG SET maxmemory-policy noeviction');
      expect(message).toContain('redis.conf');
      expect(message).toContain('parameter group');
      for (const queue of Object.values(container.queues)) expect(await queue.getWorkers()).toEqual([]);
      for (const [warning] of bullmqWarnings.mock.calls)
        expect(String(warning)).toContain('Eviction policy is allkeys-lru');
    } finally {
      await container.stop();
      bullmqWarnings.mockRestore();
    }
  });

  it('starts without the AOF warning when Redis keeps an append-only file', async () => {
    const redis = await startRedisServer({ extraArgs: ['--appendonly', 'yes'] });
    servers.push(redis);
    const bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS, env: { REDIS_URL: redis.url } });
    try {
      expect(bot.logs.find((line) => line.msg === 'Redis settings checked')?.redis).toEqual({
        maxmemoryPolicy: 'noeviction',
        aofEnabled: true,
      });
      expect(bot.logs.filter((line) => String(line.msg).includes('AOF off'))).toEqual([]);
    } finally {
      await bot.stop();
    }
  });
});
