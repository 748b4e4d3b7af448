import { randomUUID } from 'node:crypto';
import { CreateUserCommand as CreateStoreUserCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  ListAccountAssignmentsCommand,
  ListInstancesCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { Redis } from 'ioredis';
import { CloudProviderError } from '../../../src/domain/errors';
import type { GrantCheckpoints, GrantSpec } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { AwsProvider } from '../../../src/providers/aws/aws-provider';
import { MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY } from '../../../src/providers/aws/identity-center';
import { RedisGrantCheckpoints } from '../../../src/store/grant-checkpoints';
import { RedisKeys } from '../../../src/store/keys';
import { RedisOperationSlotPool } from '../../../src/store/operation-slot-pool';
import { type AwsTestEnv, startAwsTestEnv } from '../../support/aws-test-env';
import { type FaultProxy, jsonReply, type MotoServer } from '../../support/moto-server';
import { testPacing } from '../../support/pacing';

/**
 * Identity Center account assignments carry no owner, name or tag (AWS IAM Identity Center API Reference,
 * "AccountAssignment" data type: AccountId, PermissionSetArn, PrincipalId, PrincipalType and nothing else), so an
 * assignment the person held before the bot looks exactly like one the bot made. These tests run the real
 * @aws-sdk/client-sso-admin against the Identity Center emulator, with the checkpoints in the test Redis.
 */

const logger = createLogger({ level: 'silent' });
const ACCOUNT = '111122223333';
const PERMISSION_SET_ID = 'ps-0123456789abcdef';
const EXPIRES_AT = Date.UTC(2031, 0, 2, 12, 0, 0);
const LATER = Date.UTC(2031, 0, 2, 14, 30, 0);

let aws: AwsTestEnv;
let moto: MotoServer;
let proxy: FaultProxy;
let redis: Redis;
let keys: RedisKeys;
let checkpoints: RedisGrantCheckpoints;
/** Reads moto directly, not through the proxy, to check what the provider left there. */
let ssoAdmin: SSOAdminClient;
let identityStore: IdentitystoreClient;

let instanceArn: string;
let target: Record<string, string>;
let aliceId: string;
let carolId: string;

beforeAll(async () => {
  aws = await startAwsTestEnv({ env: true });
  ({ moto, proxy, ssoAdmin, identityStore } = aws);
  const redisUrl = process.env.JIT_TEST_REDIS_URL;
  if (!redisUrl)
    throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest (its global setup starts Redis)');
  redis = new Redis(redisUrl);
  keys = new RedisKeys(`jit-test-${randomUUID().slice(0, 8)}`);
  checkpoints = new RedisGrantCheckpoints(redis, keys);
}, 30_000);

afterAll(async () => {
  if (redis) {
    const left = await redis.keys(`${keys.prefix}:*`);
    if (left.length > 0) await redis.del(...left);
    await redis.quit();
  }
  await aws?.stop();
});

beforeEach(async () => {
  await moto.reset();
  proxy.clear();
  const instance = (await ssoAdmin.send(new ListInstancesCommand({}))).Instances?.[0];
  instanceArn = instance?.InstanceArn ?? '';
  const identityStoreId = instance?.IdentityStoreId ?? '';
  const instanceId = instanceArn.slice(instanceArn.lastIndexOf('/') + 1);
  target = {
    kind: 'identity-center',
    instanceArn,
    accountId: ACCOUNT,
    permissionSetArn: `arn:aws:sso:::permissionSet/${instanceId}/${PERMISSION_SET_ID}`,
  };
  aliceId = await createStoreUser(identityStoreId, 'alice', 'alice@example.com');
  carolId = await createStoreUser(identityStoreId, 'carol', 'carol@example.com');
  // Carol holds the same permission set on the same account, outside the bot: never anyone's to touch.
  await assign(carolId);
});

/** A provider as one bot process builds it; two calls are two processes sharing the Redis checkpoints. */
function newProvider(store: GrantCheckpoints = checkpoints): AwsProvider {
  return new AwsProvider({
    logger,
    checkpoints: store,
    retry: { attempts: 2, baseMs: 1, capMs: 2 },
    statusPolling: { intervalMs: 1, attempts: 2 },
    pacing: testPacing(),
  });
}

/** A fresh request ID per call, so tests never share checkpoints. */
function spec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: randomUUID().replace(/-/g, '').slice(0, 12),
    roleId: 'prod-admin-sso',
    target,
    principal: { slackUserId: 'U0ALICE', identities: {}, email: 'alice@example.com' },
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

function assignment(userId: string) {
  return {
    InstanceArn: instanceArn,
    TargetId: ACCOUNT,
    TargetType: 'AWS_ACCOUNT' as const,
    PermissionSetArn: target.permissionSetArn,
    PrincipalType: 'USER' as const,
    PrincipalId: userId,
  };
}

/** An assignment made outside the bot, as an administrator would in the console. */
async function assign(userId: string): Promise<void> {
  await ssoAdmin.send(new CreateAccountAssignmentCommand(assignment(userId)));
}

async function assignedUsers(): Promise<string[]> {
  const answer = await ssoAdmin.send(
    new ListAccountAssignmentsCommand({
      InstanceArn: instanceArn,
      AccountId: ACCOUNT,
      PermissionSetArn: target.permissionSetArn,
    }),
  );
  return (answer.AccountAssignments ?? []).map((each) => `${each.PrincipalType}:${each.PrincipalId}`).sort();
}

const withAlice = () => [`USER:${aliceId}`, `USER:${carolId}`].sort();
const withoutAlice = () => [`USER:${carolId}`];

/**
 * Makes the next grant lose track of its CreateAccountAssignment after AWS accepted it: the answer says
 * IN_PROGRESS and every status read after says the same (AWS answers IN_PROGRESS until the operation ends: API
 * reference, DescribeAccountAssignmentCreationStatus), so the grant gives up with a retryable error while the
 * assignment exists in the emulator, which is what a crash between the call and storing the memo leaves behind.
 */
function loseTrackOfNextCreation(): void {
  const inProgress = {
    Status: 'IN_PROGRESS',
    RequestId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    TargetId: ACCOUNT,
    TargetType: 'AWS_ACCOUNT',
    PrincipalType: 'USER',
  };
  proxy.rewrite('CreateAccountAssignment', 1, () => JSON.stringify({ AccountAssignmentCreationStatus: inProgress }));
  proxy.fail('DescribeAccountAssignmentCreationStatus', 10, jsonReply({ AccountAssignmentCreationStatus: inProgress }));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (caught: unknown) => caught,
  );
}

describe('standing access (an assignment the person held before the bot)', () => {
  it('is recorded as already held: the grant adds nothing and its revocation leaves the assignment', async () => {
    await assign(aliceId);
    const provider = newProvider();
    const request = spec();

    const outcome = await provider.grant(request);
    expect(outcome.memo).toMatchObject({ userId: aliceId, alreadyHeld: 'true' });
    expect(outcome.instructions).toContain('already hold');
    expect(proxy.count('CreateAccountAssignment')).toBe(0);

    await provider.revoke({ ...request, memo: outcome.memo });
    expect(proxy.count('DeleteAccountAssignment')).toBe(0);
    expect(await assignedUsers()).toEqual(withAlice());
  });

  it('verify() of an already-held grant is true while the assignment exists, false once it is gone', async () => {
    await assign(aliceId);
    const provider = newProvider();
    const request = spec();
    const outcome = await provider.grant(request);
    expect(await provider.verify({ ...request, memo: outcome.memo })).toBe(true);

    await ssoAdmin.send(new DeleteAccountAssignmentCommand(assignment(aliceId)));
    expect(await provider.verify({ ...request, memo: outcome.memo })).toBe(false);
  });

  it('cleanup after a grant that stored no memo never deletes a standing assignment', async () => {
    await assign(aliceId);
    const provider = newProvider();
    // A request that never got as far as granting (the policy refused it first).
    await provider.revoke(spec());
    // A request whose grant ran but whose memo was never stored (the request was failed meanwhile).
    const granted = spec();
    await provider.grant(granted);
    await newProvider().revoke(granted);

    expect(proxy.count('DeleteAccountAssignment')).toBe(0);
    expect(await assignedUsers()).toEqual(withAlice());
  });

  it('once the standing assignment is removed by hand, granting again (an extension) makes it the bot’s', async () => {
    await assign(aliceId);
    const provider = newProvider();
    const request = spec();
    const first = await provider.grant(request);
    await ssoAdmin.send(new DeleteAccountAssignmentCommand(assignment(aliceId)));

    const extended = await provider.grant({ ...request, expiresAt: LATER, memo: first.memo });
    expect(extended.memo).toEqual({ userId: aliceId, identityStoreId: first.memo?.identityStoreId });
    expect(await assignedUsers()).toEqual(withAlice());

    await provider.revoke({ ...request, expiresAt: LATER, memo: extended.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });

  it('only a USER assignment of that very user counts: carol’s does not make alice’s grant "already held"', async () => {
    const provider = newProvider();
    const request = spec();
    const outcome = await provider.grant(request);
    expect(outcome.memo?.alreadyHeld).toBeUndefined();
    expect(proxy.count('CreateAccountAssignment')).toBe(1);
    await provider.revoke({ ...request, memo: outcome.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });
});

describe('crash safety', () => {
  it('a retry that finds the assignment its first attempt made counts it as the bot’s, and revokes it', async () => {
    const request = spec();
    loseTrackOfNextCreation();
    const lost = await rejection(newProvider().grant(request));
    expect(lost).toBeInstanceOf(CloudProviderError);
    expect((lost as CloudProviderError).retryable).toBe(true);
    expect(await assignedUsers()).toEqual(withAlice());

    // The job is retried by another process, with no memo stored.
    const retry = newProvider();
    const outcome = await retry.grant(request);
    expect(outcome.memo?.alreadyHeld).toBeUndefined();
    expect(proxy.count('CreateAccountAssignment')).toBe(1);
    expect(await retry.verify({ ...request, memo: outcome.memo })).toBe(true);

    await newProvider().revoke({ ...request, memo: outcome.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });

  it('a grant that failed after creating leaves nothing behind when the request is failed (no memo)', async () => {
    const request = spec();
    loseTrackOfNextCreation();
    await rejection(newProvider().grant(request));
    expect(await assignedUsers()).toEqual(withAlice());

    // failGrant revokes with what the policy says and no memo: the checkpoint alone proves the assignment is ours.
    await newProvider().revoke(request);
    expect(await assignedUsers()).toEqual(withoutAlice());
  });

  it('records who holds the assignment before CreateAccountAssignment is sent: no record, no assignment', async () => {
    // Redis unreachable while writing: ioredis rejects a command on a closed connection with this message.
    const unwritable: GrantCheckpoints = {
      get: (requestId) => checkpoints.get(requestId),
      set: async () => {
        throw new Error('Connection is closed.');
      },
    };
    const failed = await rejection(newProvider(unwritable).grant(spec()));
    expect(String(failed)).toContain('Connection is closed.');
    expect(proxy.count('CreateAccountAssignment')).toBe(0);
    expect(await assignedUsers()).toEqual(withoutAlice());
  });
});

describe('overlapping grants of the same role to the same person', () => {
  it('the later grant takes the assignment over when the earlier one ends, and its own end removes it', async () => {
    const provider = newProvider();
    const early = spec();
    const late = spec({ expiresAt: LATER });
    const earlyOutcome = await provider.grant(early);
    const lateOutcome = await provider.grant(late);
    expect(earlyOutcome.memo?.alreadyHeld).toBeUndefined();
    // While the early grant holds it, the late one finds it there and adds nothing.
    expect(lateOutcome.memo?.alreadyHeld).toBe('true');
    expect(proxy.count('CreateAccountAssignment')).toBe(1);

    // The early grant ends: its revocation deletes the assignment, then the domain re-asserts the late grant.
    await provider.revoke({ ...early, memo: earlyOutcome.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
    const reasserted = await provider.grant({ ...late, memo: lateOutcome.memo });
    expect(reasserted.memo).toEqual({ userId: aliceId, identityStoreId: lateOutcome.memo?.identityStoreId });
    expect(await assignedUsers()).toEqual(withAlice());

    // Granting it again changes nothing now that it is the late grant's own.
    expect((await provider.grant({ ...late, memo: reasserted.memo })).memo).toEqual(reasserted.memo);
    await provider.revoke({ ...late, memo: reasserted.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });

  it('a standing assignment survives overlapping grants and the re-assertion between them', async () => {
    await assign(aliceId);
    const provider = newProvider();
    const early = spec();
    const late = spec({ expiresAt: LATER });
    const earlyOutcome = await provider.grant(early);
    const lateOutcome = await provider.grant(late);
    expect(earlyOutcome.memo?.alreadyHeld).toBe('true');
    expect(lateOutcome.memo?.alreadyHeld).toBe('true');

    await provider.revoke({ ...early, memo: earlyOutcome.memo });
    const reasserted = await provider.grant({ ...late, memo: lateOutcome.memo });
    expect(reasserted.memo).toEqual(lateOutcome.memo);
    await provider.revoke({ ...late, memo: reasserted.memo });

    expect(proxy.count('CreateAccountAssignment')).toBe(0);
    expect(proxy.count('DeleteAccountAssignment')).toBe(0);
    expect(await assignedUsers()).toEqual(withAlice());
  });

  it('a crash while re-asserting: the late grant’s end still removes what the re-assertion made', async () => {
    const early = spec();
    const late = spec({ expiresAt: LATER });
    const earlyOutcome = await newProvider().grant(early);
    const lateOutcome = await newProvider().grant(late);
    await newProvider().revoke({ ...early, memo: earlyOutcome.memo });

    // The re-assertion creates the assignment, then the process dies before the late grant's new memo is stored.
    loseTrackOfNextCreation();
    await rejection(newProvider().grant({ ...late, memo: lateOutcome.memo }));
    expect(await assignedUsers()).toEqual(withAlice());

    // The late grant ends holding its stale "already held" memo: the checkpoint says the assignment is its own.
    await newProvider().revoke({ ...late, memo: lateOutcome.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });

  it('a crash while re-asserting: the retried end of the early grant and a second re-assertion settle it', async () => {
    const early = spec();
    const late = spec({ expiresAt: LATER });
    const earlyOutcome = await newProvider().grant(early);
    const lateOutcome = await newProvider().grant(late);
    await newProvider().revoke({ ...early, memo: earlyOutcome.memo });
    loseTrackOfNextCreation();
    await rejection(newProvider().grant({ ...late, memo: lateOutcome.memo }));

    // The early grant's end is retried from the top: revoke again, then re-assert again, in a new process.
    const retry = newProvider();
    await retry.revoke({ ...early, memo: earlyOutcome.memo });
    const reasserted = await retry.grant({ ...late, memo: lateOutcome.memo });
    expect(reasserted.memo?.alreadyHeld).toBeUndefined();
    expect(await assignedUsers()).toEqual(withAlice());

    await newProvider().revoke({ ...late, memo: reasserted.memo });
    expect(await assignedUsers()).toEqual(withoutAlice());
  });
});

/**
 * Keeps every assignment operation IN_PROGRESS for its first two status reads (AWS answers IN_PROGRESS until the
 * operation ends: API reference, DescribeAccountAssignmentCreationStatus / DeletionStatus), and counts how many
 * were under way at once: from the call that started one to the status read that found it ended.
 */
function holdOperations(readsInProgress = 2): { mostUnderWay: () => number } {
  const reads = new Map<string, number>();
  let underWay = 0;
  let most = 0;
  const started = (statusField: string) => (body: string) => {
    const answer = JSON.parse(body) as Record<string, { Status?: string; RequestId?: string }>;
    const status = answer[statusField];
    if (status?.RequestId !== undefined) {
      reads.set(status.RequestId, 0);
      underWay += 1;
      most = Math.max(most, underWay);
      status.Status = 'IN_PROGRESS';
    }
    return JSON.stringify(answer);
  };
  const read = (statusField: string) => (body: string) => {
    const answer = JSON.parse(body) as Record<string, { Status?: string; RequestId?: string }>;
    const status = answer[statusField];
    const id = status?.RequestId;
    const seen = id === undefined ? undefined : reads.get(id);
    if (status && id !== undefined && seen !== undefined) {
      if (seen < readsInProgress) {
        reads.set(id, seen + 1);
        status.Status = 'IN_PROGRESS';
      } else {
        reads.delete(id);
        underWay -= 1;
      }
    }
    return JSON.stringify(answer);
  };
  proxy.rewrite('CreateAccountAssignment', 1_000, started('AccountAssignmentCreationStatus'));
  proxy.rewrite('DeleteAccountAssignment', 1_000, started('AccountAssignmentDeletionStatus'));
  proxy.rewrite('DescribeAccountAssignmentCreationStatus', 1_000, read('AccountAssignmentCreationStatus'));
  proxy.rewrite('DescribeAccountAssignmentDeletionStatus', 1_000, read('AccountAssignmentDeletionStatus'));
  return { mostUnderWay: () => most };
}

describe('assignment operations under way at once', () => {
  /** Two bot processes on one Redis: each its own provider, their slots counted together by the shared pool. */
  const processes = () =>
    [1, 2].map(
      () =>
        new AwsProvider({
          logger,
          checkpoints,
          retry: { attempts: 2, baseMs: 1, capMs: 2 },
          statusPolling: { intervalMs: 5, attempts: 10 },
          pacing: testPacing(),
          operationSlots: new RedisOperationSlotPool(redis, keys, { pollMs: 5 }),
        }),
    );

  it(`keeps at most ${MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY} running across processes, for grants and revocations alike`, async () => {
    const instance = (await ssoAdmin.send(new ListInstancesCommand({}))).Instances?.[0];
    const people = 30;
    const emails = Array.from({ length: people }, (_, index) => `person${index}@example.com`);
    for (const [index, email] of emails.entries()) {
      await createStoreUser(instance?.IdentityStoreId ?? '', `person${index}`, email);
    }
    const providers = processes();
    const specs = emails.map((email, index) =>
      spec({ principal: { slackUserId: `U0P${index}`, identities: {}, email } }),
    );
    const by = (index: number) => providers[index % providers.length] as AwsProvider;

    const granting = holdOperations();
    const outcomes = await Promise.all(specs.map((each, index) => by(index).grant(each)));
    expect(granting.mostUnderWay()).toBe(MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY);
    expect(await assignedUsers()).toHaveLength(people + 1);

    proxy.clear();
    const revoking = holdOperations();
    await Promise.all(specs.map((each, index) => by(index).revoke({ ...each, memo: outcomes[index]?.memo })));
    expect(revoking.mostUnderWay()).toBe(MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY);
    expect(await assignedUsers()).toEqual(withoutAlice());
  });
});

describe('RedisGrantCheckpoints', () => {
  it('keeps each request’s checkpoint, with a TTL, and refuses one changed outside the bot', async () => {
    await checkpoints.set('req1', { kind: 'identity-center', holder: 'bot' });
    await checkpoints.set('req1', { kind: 'identity-center', holder: 'standing' });
    expect(await checkpoints.get('req1')).toEqual({ kind: 'identity-center', holder: 'standing' });
    expect(await checkpoints.get('req2')).toBeUndefined();
    expect(await redis.pttl(keys.grantCheckpoint('req1'))).toBeGreaterThan(366 * 86_400_000);

    await redis.set(keys.grantCheckpoint('req3'), '{"holder":true}');
    await expect(checkpoints.get('req3')).rejects.toThrow('changed outside the bot');
  });
});

async function createStoreUser(storeId: string, userName: string, email: string): Promise<string> {
  const answer = await identityStore.send(
    new CreateStoreUserCommand({
      IdentityStoreId: storeId,
      UserName: userName,
      DisplayName: userName,
      Name: { GivenName: userName, FamilyName: 'Example' },
      Emails: [{ Value: email, Primary: true }],
    }),
  );
  return answer.UserId ?? '';
}
