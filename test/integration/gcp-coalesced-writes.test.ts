import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { CloudProviderError } from '../../src/domain/errors';
import type { GrantSpec } from '../../src/domain/ports';
import { createLogger } from '../../src/lib/logger';
import { GcpProvider } from '../../src/providers/gcp/gcp-provider';
import { RedisKeys } from '../../src/store/keys';
import { RedisResourceTurns } from '../../src/store/resource-turns';
import { type FakeBinding, type FakeGcpCrm, startFakeGcpWithAdc } from '../support/fake-gcp-crm';

const PROJECTS = ['projects/jit-batch-a', 'projects/jit-batch-b'] as const;
const PROJECT = PROJECTS[0];
const ROLE = 'roles/compute.instanceAdmin.v1';
const EXPIRY = '2031-05-01T12:00:00.000Z';

/** Somebody else's binding: every batch must leave it exactly as it is. */
const THEIRS: FakeBinding = { role: 'roles/storage.objectViewer', members: ['group:ops@example.com'] };

/** Request `r<i>` of person `u<i>` on `resource`, as the scheduler hands it to the provider. */
function spec(i: number, resource: string = PROJECT, withMemo = false): GrantSpec {
  const requestId = `r${i}`;
  const member = `user:u${i}@example.com`;
  return {
    requestId,
    roleId: 'gce-admin',
    target: { resource, role: ROLE },
    principal: { slackUserId: `U${i}`, identities: {}, email: `u${i}@example.com` },
    expiresAt: Date.parse(EXPIRY),
    ...(withMemo && { memo: { resource, role: ROLE, member, conditionTitle: `jit-${requestId}` } }),
  };
}

/** The bot's binding for request `r<i>`, as a grant writes it. */
function ourBinding(i: number): FakeBinding {
  return {
    role: ROLE,
    members: [`user:u${i}@example.com`],
    condition: {
      title: `jit-r${i}`,
      description: `jit r${i} until ${EXPIRY}`,
      expression: `request.time < timestamp("${EXPIRY}")`,
    },
  };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** The settled outcome of each promise: its value, or the message it was rejected with. */
async function outcomes<T>(promises: Promise<T>[]): Promise<(T | string)[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((result) =>
    result.status === 'fulfilled' ? result.value : `rejected: ${(result.reason as Error).message}`,
  );
}

describe('GcpProvider coalesces the edits due together on one allow policy', () => {
  let fake: FakeGcpCrm;
  let restoreGcp: () => void;
  const connections: Redis[] = [];
  const providers: GcpProvider[] = [];
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });

  /** Two bot "processes": each its own provider and Redis connection, taking turns through the same keys. */
  function twoProcesses(): [GcpProvider, GcpProvider] {
    const keys = new RedisKeys(`jit-test-gcp-batch-${randomUUID().slice(0, 8)}`);
    const built = [0, 1].map(() => {
      const redis = new Redis(process.env.JIT_TEST_REDIS_URL ?? '');
      connections.push(redis);
      const provider = new GcpProvider({
        logger,
        resourceManagerEndpoint: fake.endpoint,
        turns: new RedisResourceTurns(redis, keys),
      });
      providers.push(provider);
      return provider;
    });
    return built as [GcpProvider, GcpProvider];
  }

  beforeAll(async () => {
    if (!process.env.JIT_TEST_REDIS_URL) throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest');
    ({ fake, restore: restoreGcp } = await startFakeGcpWithAdc());
  });

  afterAll(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    await Promise.all(connections.map((redis) => redis.quit()));
    await fake?.close();
    restoreGcp?.();
  });

  beforeEach(() => {
    fake.reset();
    logLines.length = 0;
  });

  it('removes 200 grants over two full projects, revoked at once from two processes, in at most 10 writes', async () => {
    const processes = twoProcesses();
    // Google allows at most 100 conditional bindings in one allow policy: 200 grants need two projects.
    PROJECTS.forEach((project, p) => {
      fake.seed(project, [THEIRS, ...range(p * 100, 100).map(ourBinding)]);
    });
    fake.setLatency(100);

    const revoked = await outcomes(
      range(0, 200).map((i) => {
        const provider = processes[i % 2] as GcpProvider;
        return provider.revoke(spec(i, PROJECTS[Math.floor(i / 100)], true));
      }),
    );

    expect(revoked).toEqual(range(0, 200).map(() => undefined));
    for (const project of PROJECTS) expect(fake.policy(project).bindings).toEqual([THEIRS]);
    const writes = fake.callsOf('setIamPolicy');
    expect(writes.length).toBeLessThanOrEqual(10);
    // The turns keep the two processes from racing on an etag.
    expect(writes.map((call) => call.status).filter((status) => status !== 200)).toEqual([]);
    // Each revocation still logs its own outcome.
    for (const i of range(0, 200)) {
      expect(logLines.some((line) => line.includes(`"requestId":"r${i}"`) && line.includes('gcp: revoked'))).toBe(true);
    }
  });

  it('grants many at once in few writes, each with its own memo; one past a limit fails alone with its message', async () => {
    const processes = twoProcesses();
    // u0 already holds Google's limit of 20 conditional bindings of the role on the project.
    const u0Grants = range(1000, 20).map((n) => ({ ...ourBinding(n), members: ['user:u0@example.com'] }));
    fake.seed(PROJECT, [THEIRS, ...u0Grants]);
    fake.setLatency(20);

    const granted = await outcomes(range(0, 39).map((i) => (processes[i % 2] as GcpProvider).grant(spec(i))));

    expect(granted[0]).toMatch(
      /^rejected: user:u0@example\.com already holds 20 conditional bindings of roles\/compute\.instanceAdmin\.v1 on projects\/jit-batch-a, Google's limit for one role and one principal/,
    );
    for (const i of range(1, 38)) {
      expect(granted[i]).toEqual({
        memo: { resource: PROJECT, role: ROLE, member: `user:u${i}@example.com`, conditionTitle: `jit-r${i}` },
        instructions: expect.stringContaining(ROLE),
      });
    }
    // In the order the two processes' batches wrote them.
    const [theirs, ...conditional] = fake.policy(PROJECT).bindings;
    expect(theirs).toEqual(THEIRS);
    expect(conditional).toHaveLength(20 + 38);
    expect(conditional).toEqual(expect.arrayContaining([...u0Grants, ...range(1, 38).map(ourBinding)]));
    expect(fake.writes(PROJECT)).toBeLessThanOrEqual(4);
    // The refusal is logged as that request's own failure.
    expect(logLines.some((line) => line.includes('"requestId":"r0"') && line.includes('grant on'))).toBe(true);
  });

  it('reads the policy once for many read-backs in flight together after a coalesced grant', async () => {
    const [provider] = twoProcesses();
    fake.setLatency(20);
    const memos = (await Promise.all(range(0, 30).map((i) => provider.grant(spec(i))))).map((outcome) => outcome.memo);
    const readsBefore = fake.callsOf('getIamPolicy').length;

    const present = await Promise.all(
      range(0, 30).map((i) => provider.verify({ ...spec(i), ...(memos[i] && { memo: memos[i] }) })),
    );

    expect(present).toEqual(range(0, 30).map(() => true));
    expect(fake.callsOf('getIamPolicy').length - readsBefore).toBe(1);
  });

  it('re-reads and re-applies the whole batch when someone else writes in the middle, keeping their binding', async () => {
    const [provider] = twoProcesses();
    fake.seed(PROJECT, [THEIRS, ...range(0, 10).map(ourBinding)]);
    const theirNewBinding: FakeBinding = { role: 'roles/pubsub.viewer', members: ['user:dave@example.com'] };
    fake.writeConcurrentlyAfterNextRead(PROJECT, (policy) => policy.bindings.push(theirNewBinding));

    // Revocations of r0..r9 and grants of r10..r19, all due together.
    const results = await outcomes<string | undefined>([
      ...range(0, 10).map((i) => provider.revoke(spec(i, PROJECT, true)).then(() => undefined)),
      ...range(10, 10).map((i) => provider.grant(spec(i)).then(() => 'granted')),
    ]);

    expect(results).toEqual([...range(0, 10).map(() => undefined), ...range(10, 10).map(() => 'granted')]);
    expect(fake.callsOf('setIamPolicy', PROJECT).map((call) => call.status)).toEqual([409, 200]);
    expect(fake.callsOf('getIamPolicy', PROJECT)).toHaveLength(2);
    expect(fake.policy(PROJECT).bindings).toEqual([THEIRS, theirNewBinding, ...range(10, 10).map(ourBinding)]);
  });

  it('writes the edits one by one when Google refuses the batch for one of them, so only that grant fails', async () => {
    const [provider] = twoProcesses();
    fake.markMemberUnknown('user:u3@example.com');

    const results = await outcomes(range(0, 6).map((i) => provider.grant(spec(i)).then(() => 'granted')));

    expect(results[3]).toMatch(/^rejected: Google Cloud refused the change .*User u3@example\.com does not exist/);
    expect(results.filter((result) => result === 'granted')).toHaveLength(5);
    expect(fake.policy(PROJECT).bindings).toEqual([0, 1, 2, 4, 5].map(ourBinding));
  });

  it('fails every edit of a batch whose reads keep failing, retryably, after one batch’s retries', async () => {
    const [provider] = twoProcesses();
    fake.failNext(20, 503);

    const errors = await Promise.all(
      range(0, 5).map((i) => provider.revoke(spec(i, PROJECT, true)).catch((error: unknown) => error)),
    );

    for (const error of errors) {
      expect(error).toBeInstanceOf(CloudProviderError);
      expect((error as CloudProviderError).retryable).toBe(true);
      expect((error as CloudProviderError).message).toContain(PROJECT);
    }
    // One batch: the retries of one read-modify-write, not five.
    expect(fake.callsOf('getIamPolicy')).toHaveLength(4);
  });

  it('refuses retryably, writing nothing, when another process keeps the turn on the policy', async () => {
    const keys = new RedisKeys(`jit-test-gcp-batch-${randomUUID().slice(0, 8)}`);
    const redis = new Redis(process.env.JIT_TEST_REDIS_URL ?? '');
    connections.push(redis);
    const provider = new GcpProvider({
      logger,
      resourceManagerEndpoint: fake.endpoint,
      turns: new RedisResourceTurns(redis, keys, { maxWaitMs: 100 }),
    });
    providers.push(provider);
    await redis.set(keys.resourceTurn(`gcp-policy:${PROJECT}`), 'another-process', 'PX', 60_000);

    const error = await provider.grant(spec(1)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CloudProviderError);
    expect((error as CloudProviderError).retryable).toBe(true);
    expect((error as CloudProviderError).message).toContain(
      `The bot could not take its turn to edit the allow policy of ${PROJECT}`,
    );
    expect(fake.callsOf('getIamPolicy')).toHaveLength(0);
  });
});
