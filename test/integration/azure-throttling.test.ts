import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CallRate, GrantSpec } from '../../src/domain/ports';
import { assignmentName } from '../../src/providers/azure/assignment-name';
import { armOperationOf, armPaceKey } from '../../src/providers/azure/azure-call';
import { RedisCallPacer } from '../../src/store/call-pacer';
import { RedisKeys } from '../../src/store/keys';
import { ArmThrottling } from '../support/fake-arm-throttling';
import { FakeAzure, loggedAzureProvider, READER_ROLE } from '../support/fake-azure-arm';

const SUBSCRIPTION = '2ea60f7e-ff84-4ddb-a6e6-b0e064c7b8fe';
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/app-prod`;
const READER_ID = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`;
const TARGET = { kind: 'role-assignment', scope: SCOPE, roleDefinitionId: READER_ROLE };
const GRANTS = 30;
/** The cloud's write rate in these tests: a small bucket, so 30 revocations at once overrun it. */
const CLOUD_RATE = { perSecond: 10, burst: 5 };

let fake: FakeAzure;
let redis: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  fake = await FakeAzure.start();
  const url = process.env.JIT_TEST_REDIS_URL;
  if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
  redis = new Redis(url);
});

afterAll(async () => {
  await fake.close();
  await redis.quit();
});

beforeEach(() => {
  fake.reset();
  keys = new RedisKeys(`jit-throttle-${randomUUID().slice(0, 8)}`);
});

/** The provider as the registry builds it: the Redis pacer, and the rate read through a function at each call. */
function makeProvider(rate: () => CallRate) {
  const pacer = new RedisCallPacer(redis, keys);
  const { provider, logs } = loggedAzureProvider(fake, {
    pacing: { pacer, rateOf: (api) => (api === 'azure-arm' ? rate() : { perSecond: 1, burst: 1 }) },
  });
  return { provider, pacer, logs };
}

/** `count` role assignments the bot made earlier, named as its grants name them, and the specs that revoke them. */
function seedGrants(count: number): GrantSpec[] {
  return Array.from({ length: count }, (_, index) => {
    const requestId = `req${String(index).padStart(5, '0')}`;
    const principalId = randomUUID();
    fake.seedRoleAssignment({
      name: assignmentName(requestId),
      scope: SCOPE,
      roleDefinitionId: READER_ID,
      principalId,
    });
    return {
      requestId,
      roleId: 'prod-reader',
      target: TARGET,
      principal: { slackUserId: `U0${index}`, identities: { azure: principalId } },
      expiresAt: fake.clock.now(),
      memo: { principalId, kind: 'role-assignment', assignmentName: assignmentName(requestId) },
    };
  });
}

describe('Azure calls paced against ARM throttling', () => {
  it('revokes everything when paced faster than ARM allows: the 429s slow every call down and use no attempt', async () => {
    const specs = seedGrants(GRANTS);
    fake.setWriteRate(CLOUD_RATE);
    const { provider, logs } = makeProvider(() => ({ perSecond: 100, burst: GRANTS }));

    const outcomes = await Promise.allSettled(specs.map((spec) => provider.revoke(spec)));

    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(fake.roleAssignments()).toEqual([]);
    // The pace was too fast for the cloud, which said so...
    expect(fake.throttledCount).toBeGreaterThan(0);
    const deletes = fake.requests.filter((request) => request.method === 'DELETE');
    expect(deletes).toHaveLength(GRANTS + fake.throttledCount);
    // ...and each of those answers slowed the shared pace (logged at info), none counted as a failed attempt.
    const throttled = logs().filter((line) => String(line.msg).includes('ARM throttled'));
    expect(throttled).toHaveLength(fake.throttledCount);
    expect(throttled.every((line) => line.level === 'info' && line.key === `azure-arm:${SUBSCRIPTION}:deletes`)).toBe(
      true,
    );
    expect(logs().filter((line) => ['warn', 'error', 'fatal'].includes(String(line.level)))).toEqual([]);
  });

  it('gets no 429 at all when paced at the rate ARM allows', async () => {
    const specs = seedGrants(GRANTS);
    fake.setWriteRate(CLOUD_RATE);
    const { provider, logs } = makeProvider(() => CLOUD_RATE);
    // Signed in beforehand (a read, which the write rate does not count), as a running bot long has been: else the
    // first calls all wait for the one token request and reach ARM together, later than their slots.
    await provider.verify(specs[0] as GrantSpec);
    await Promise.all(specs.map((spec) => provider.revoke(spec)));

    expect(fake.roleAssignments()).toEqual([]);
    expect(fake.throttledCount).toBe(0);
    expect(fake.requests.filter((request) => request.method === 'DELETE')).toHaveLength(GRANTS);
    expect(logs().filter((line) => ['warn', 'error', 'fatal'].includes(String(line.level)))).toEqual([]);
  });

  it('paces reads apart from deletes: a held-off delete pace does not hold up a read', async () => {
    const [spec] = seedGrants(1);
    const { provider, pacer } = makeProvider(() => CLOUD_RATE);
    await pacer.holdOff(`azure-arm:${SUBSCRIPTION}:deletes`, 10 * 60_000);
    // Resolving at all shows the read did not wait ten minutes behind the deletes.
    await expect(provider.verify(spec as GrantSpec)).resolves.toBe(false);
    expect(await redis.exists(keys.callPace(`azure-arm:${SUBSCRIPTION}:reads`))).toBe(1);
  });

  it("holds off for ARM's whole Retry-After, not the in-call retry cap", async () => {
    fake.setWriteRate({ perSecond: 1, burst: 1 });
    const { provider, logs } = makeProvider(() => ({ perSecond: 1_000, burst: 10 }));
    const specs = seedGrants(2);
    await Promise.all(specs.map((spec) => provider.revoke(spec)));
    expect(fake.throttledCount).toBeGreaterThan(0);
    const holds = logs().filter((line) => String(line.msg).includes('ARM throttled'));
    expect(holds.length).toBe(fake.throttledCount);
    // The fake asks for 1 s; the in-call retry cap is 20 ms, which a throttle no longer shortens the wait to.
    expect(holds.map((line) => [line.retryAfterMs, line.holdMs])).toEqual(holds.map(() => [1_000, 1_000]));
  });
});

describe("the fake ARM's throttling", () => {
  const principal = '11111111-2222-3333-4444-555555555555';

  it('keeps the documented buckets by default: 200 deletes at once, then one per 100 ms, with 429 and Retry-After', () => {
    let now = 0;
    const throttling = new ArmThrottling(() => now);
    const admitted = Array.from({ length: 200 }, () => throttling.admit('DELETE', SCOPE, principal));
    expect(admitted.every((decision) => decision.admitted)).toBe(true);
    expect(admitted[199]).toEqual({
      admitted: true,
      headers: { 'x-ms-ratelimit-remaining-subscription-deletes': '0' },
    });
    expect(throttling.admit('DELETE', SCOPE, principal)).toMatchObject({
      admitted: false,
      retryAfterSeconds: 1,
      code: 'SubscriptionRequestsThrottled',
    });
    // Writes and reads have buckets of their own, as has another subscription.
    expect(throttling.admit('PUT', SCOPE, principal)).toMatchObject({ admitted: true });
    expect(throttling.admit('GET', SCOPE, principal)).toEqual({
      admitted: true,
      headers: { 'x-ms-ratelimit-remaining-subscription-reads': '249' },
    });
    expect(throttling.admit('DELETE', '/subscriptions/other/resourceGroups/x', principal)).toMatchObject({
      admitted: true,
    });
    now += 100;
    expect(throttling.admit('DELETE', SCOPE, principal)).toMatchObject({ admitted: true });
    expect(throttling.admit('DELETE', SCOPE, principal)).toMatchObject({ admitted: false });
    expect(throttling.throttledCount).toBe(2);
  });

  it('takes a test-set write rate for writes and deletes, and stops throttling them when it is unset', () => {
    const throttling = new ArmThrottling(() => 0);
    throttling.setWriteRate({ perSecond: 20, burst: 2 });
    expect([1, 2, 3].map(() => throttling.admit('PUT', SCOPE, principal).admitted)).toEqual([true, true, false]);
    expect([1, 2, 3].map(() => throttling.admit('DELETE', SCOPE, principal).admitted)).toEqual([true, true, false]);
    throttling.setWriteRate(undefined);
    expect(Array.from({ length: 500 }, () => throttling.admit('PUT', SCOPE, principal).admitted)).not.toContain(false);
  });
});

describe('which ARM budget a call spends', () => {
  it('tells reads, writes and deletes by the ARM action, and leaves Graph unpaced', () => {
    expect(armOperationOf('Microsoft.Authorization/roleAssignments/read')).toBe('reads');
    expect(armOperationOf('Microsoft.Authorization/roleAssignments/delete')).toBe('deletes');
    expect(armOperationOf('Microsoft.Authorization/roleAssignments/write')).toBe('writes');
    expect(armOperationOf('Microsoft.Authorization/roleAssignmentScheduleRequests/write')).toBe('writes');
    expect(armOperationOf('the Microsoft Graph application permission User.ReadBasic.All')).toBeUndefined();
  });

  it('keys the pace per subscription, in either of its forms, and the tenant above any subscription', () => {
    expect(armPaceKey(`/subscriptions/${SUBSCRIPTION.toUpperCase()}/resourceGroups/x`, 'writes')).toBe(
      `azure-arm:${SUBSCRIPTION}:writes`,
    );
    expect(armPaceKey(`/providers/Microsoft.Subscription/subscriptions/${SUBSCRIPTION}`, 'reads')).toBe(
      `azure-arm:${SUBSCRIPTION}:reads`,
    );
    expect(armPaceKey('/providers/Microsoft.Management/managementGroups/platform', 'writes')).toBe(
      'azure-arm:tenant:writes',
    );
    expect(armPaceKey(undefined, 'reads')).toBe('azure-arm:tenant:reads');
  });
});
