import { randomUUID } from 'node:crypto';
import { CreateUserCommand, ListAttachedUserPoliciesCommand } from '@aws-sdk/client-iam';
import { Redis } from 'ioredis';
import { CloudProviderError } from '../../src/domain/errors';
import type { GrantSpec } from '../../src/domain/ports';
import { createLogger } from '../../src/lib/logger';
import { AwsProvider } from '../../src/providers/aws/aws-provider';
import { RedisCallPacer } from '../../src/store/call-pacer';
import { RedisKeys } from '../../src/store/keys';
import { type AwsTestEnv, startAwsTestEnv } from '../support/aws-test-env';
import { queryError } from '../support/moto-server';

const TARGET = {
  kind: 'iam-policy',
  statements: [{ Effect: 'Allow', Action: ['logs:Get*'], Resource: '*' }],
};

let aws: AwsTestEnv;
let redis: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  aws = await startAwsTestEnv();
  const url = process.env.JIT_TEST_REDIS_URL;
  if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
  redis = new Redis(url);
}, 30_000);

afterAll(async () => {
  await aws?.stop();
  await redis?.quit();
});

beforeEach(async () => {
  await aws.moto.reset();
  aws.proxy.clear();
  keys = new RedisKeys(`jit-aws-throttle-${randomUUID().slice(0, 8)}`);
  await aws.iam.send(new CreateUserCommand({ UserName: 'alice' }));
});

/** The provider as the registry builds it (the Redis pacer, the rate through a function), with 2 attempts a call. */
function makeProvider(maxThrottledMs?: number) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  const provider = new AwsProvider({
    logger,
    clients: aws.proxiedClients(),
    retry: { attempts: 2, baseMs: 1, capMs: 5 },
    pacing: {
      pacer: new RedisCallPacer(redis, keys),
      rateOf: () => ({ perSecond: 1_000, burst: 100 }),
      ...(maxThrottledMs !== undefined && { maxThrottledMs }),
    },
  });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { provider, logs };
}

const spec: GrantSpec = {
  requestId: 'k7m2xq9d',
  roleId: 'aws-role',
  target: TARGET,
  principal: { slackUserId: 'U0ALICE', identities: { aws: 'alice' } },
  expiresAt: Date.UTC(2031, 0, 2, 12),
};

describe('AWS calls paced against IAM throttling', () => {
  it('rides out 10 throttled answers with 2 attempts: no attempt used, the pace held off, logged at info', async () => {
    const { provider, logs } = makeProvider();
    aws.proxy.fail('CreatePolicy', 10, queryError('Throttling', 'Rate exceeded'));

    await provider.grant(spec);

    const attached = await aws.iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }));
    expect(attached.AttachedPolicies?.map((policy) => policy.PolicyName)).toEqual(['jit-k7m2xq9d']);
    expect(aws.proxy.count('CreatePolicy')).toBe(11);
    const throttled = logs().filter((line) => line.action === 'iam:CreatePolicy' && line.throttles !== undefined);
    expect(throttled.map((line) => [line.level, line.api, line.throttles])).toEqual(
      Array.from({ length: 10 }, (_, index) => ['info', 'aws-iam', index + 1]),
    );
    expect(logs().filter((line) => ['warn', 'error', 'fatal'].includes(String(line.level)))).toEqual([]);
    // The hold is on the shared pace every process reads, not on this call alone.
    expect(await redis.hget(keys.callPace('aws-iam'), 'hold')).not.toBeNull();
  });

  it('gives up retryably once the throttled waits pass their bound, naming the action', async () => {
    const { provider } = makeProvider(20);
    aws.proxy.fail('CreatePolicy', 100, queryError('Throttling', 'Rate exceeded'));

    const error = await provider.grant(spec).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );

    expect(error).toBeInstanceOf(CloudProviderError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as CloudProviderError).message).toContain('iam:CreatePolicy');
    // 1 + 2 + 4 + 8 ms held, then the fifth hold (16 ms) passes 20 ms: five answers, fewer than the 100 queued.
    expect(aws.proxy.count('CreatePolicy')).toBe(5);
  });

  it('still spends attempts on failures that are not throttling', async () => {
    const { provider } = makeProvider();
    aws.proxy.fail('CreatePolicy', 5, queryError('ServiceFailure', 'internal error', 500));

    await expect(provider.grant(spec)).rejects.toMatchObject({ retryable: true });
    expect(aws.proxy.count('CreatePolicy')).toBe(2);
  });
});
