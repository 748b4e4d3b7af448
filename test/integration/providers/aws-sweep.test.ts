import {
  CreatePolicyCommand,
  CreateUserCommand,
  DetachUserPolicyCommand,
  type IAMClient,
  ListPoliciesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateAccountAssignmentCommand, ListInstancesCommand, type SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { CloudProviderError } from '../../../src/domain/errors';
import type { FoundGrant, GrantSpec, RoleTargetRef } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { AwsProvider, type AwsProviderOptions } from '../../../src/providers/aws/aws-provider';
import {
  awsTargetSchema,
  expiryTimestamp,
  grantedStatements,
  timeBoundPolicy,
} from '../../../src/providers/aws/aws-target';
import { requestIdOfPolicyName } from '../../../src/providers/aws/iam-sweep';
import { parseAwsDate, policyDocumentExpiry } from '../../../src/providers/aws/policy-document';
import { type AwsTestEnv, startAwsTestEnv } from '../../support/aws-test-env';
import { type FaultProxy, type MotoServer, queryError } from '../../support/moto-server';
import { testPacing } from '../../support/pacing';

const logger = createLogger({ level: 'silent' });
const ACCOUNT = '111122223333';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/ops/Deployer';
/** 12:00:00.750 UTC: the policy holds it to the second, rounded down, and so does the sweep. */
const EXPIRES_AT = Date.UTC(2031, 0, 2, 12, 0, 0, 750);
const EXPIRES_AT_SECOND = Date.UTC(2031, 0, 2, 12, 0, 0);
const LATER = Date.UTC(2031, 0, 2, 14, 30, 0);

const READ_LOGS_ROLE: RoleTargetRef = {
  roleId: 'read-logs',
  target: {
    kind: 'iam-policy',
    statements: [
      { Sid: 'ReadLogs', Effect: 'Allow', Action: ['logs:Get*', 'logs:Describe*'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::audit-bucket/*',
        // A number in YAML, quoted by the schema: the sweep must still recognise the role's document.
        Condition: { NumericLessThan: { 's3:max-keys': 10 } },
      },
    ],
  },
};
const READ_BUCKET_ROLE: RoleTargetRef = {
  roleId: 'read-bucket',
  target: {
    kind: 'iam-policy',
    statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other-bucket/*' }],
  },
};
const DEPLOYER_ROLE: RoleTargetRef = { roleId: 'deployer', target: { kind: 'assume-role', roleArn: ROLE_ARN } };
const IAM_ROLES = [READ_LOGS_ROLE, READ_BUCKET_ROLE, DEPLOYER_ROLE];

let aws: AwsTestEnv;
let moto: MotoServer;
let proxy: FaultProxy;
/** Reads and writes the emulator directly, not through the proxy, to set the scene and check what is left. */
let iam: IAMClient;
let ssoAdmin: SSOAdminClient;

beforeAll(async () => {
  aws = await startAwsTestEnv();
  ({ moto, proxy, iam, ssoAdmin } = aws);
}, 30_000);

afterAll(async () => {
  await aws?.stop();
});

beforeEach(async () => {
  await moto.reset();
  proxy.clear();
});

/** A provider whose clients go through the proxy, with quick retries so the suite stays fast. */
function newProvider(sweep: AwsProviderOptions['sweep'] = {}): AwsProvider {
  // The provider's own clients, through the proxy, destroyed after all tests.
  const clients = aws.proxiedClients();
  return new AwsProvider({ logger, clients, retry: { attempts: 4, baseMs: 1, capMs: 5 }, sweep, pacing: testPacing() });
}

function spec(role: RoleTargetRef, userName: string, overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: 'k7m2xq9d',
    roleId: role.roleId,
    target: role.target,
    principal: { slackUserId: 'U0ALICE', identities: { aws: userName } },
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

async function createUser(userName: string): Promise<void> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
}

/** Writes an inline policy directly, as someone other than the bot would. */
async function putPolicy(userName: string, policyName: string, statement: unknown): Promise<void> {
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: policyName,
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statement }),
    }),
  );
}

async function policyNames(userName: string): Promise<string[]> {
  return ((await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? []).sort();
}

const byRequest = (found: FoundGrant[]) => [...found].sort((a, b) => a.requestId.localeCompare(b.requestId));
const summary = (found: FoundGrant[]) =>
  byRequest(found).map((each) => ({
    requestId: each.requestId,
    expiresAt: each.expiresAt,
    roleId: each.spec.roleId,
    description: each.description,
  }));

async function rejection(promise: Promise<unknown>): Promise<CloudProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CloudProviderError)) throw new Error(`expected a CloudProviderError, got ${String(error)}`);
  return error;
}

const ALLOW_GET_USER = { Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' };

/**
 * A grant as bot versions before managed policies made it: the inline policy `jit-<requestId>` on the user,
 * holding the role's statements bound to the expiry. The sweep must keep finding these until they are all gone.
 */
async function legacyGrant(grant: GrantSpec): Promise<void> {
  const target = awsTargetSchema.parse(grant.target);
  await iam.send(
    new PutUserPolicyCommand({
      UserName: grant.principal.identities.aws,
      PolicyName: `jit-${grant.requestId}`,
      PolicyDocument: JSON.stringify(
        timeBoundPolicy(grantedStatements(target, grant.requestId) ?? [], expiryTimestamp(grant.expiresAt)),
      ),
    }),
  );
}

const MOTO_ACCOUNT = '123456789012';
const managedArn = (requestId: string) => `arn:aws:iam::${MOTO_ACCOUNT}:policy/jit/jit-${requestId}`;

async function accountPolicies(): Promise<string[]> {
  const answer = await iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
  return (answer.Policies ?? []).map((policy) => `${policy.Path}${policy.PolicyName}`).sort();
}

describe('findGrants: the managed policies under /jit/', () => {
  it('finds each grant with request ID, exact expiry, role and user; revoke(found.spec) removes only it', async () => {
    await createUser('alice');
    await createUser('bob');
    const provider = newProvider();
    await provider.grant(spec(READ_LOGS_ROLE, 'alice'));
    await provider.grant(spec(DEPLOYER_ROLE, 'alice', { requestId: 'p4x8w2na', expiresAt: LATER }));
    await provider.grant(spec(READ_BUCKET_ROLE, 'bob', { requestId: 'b9c3d4e5' }));
    // An inline grant of an earlier version is found in the same sweep.
    await legacyGrant(spec(READ_BUCKET_ROLE, 'bob', { requestId: 'o1d0o1d0' }));
    proxy.clear();

    const found = await provider.findGrants(IAM_ROLES);

    expect(summary(found)).toEqual([
      {
        requestId: 'b9c3d4e5',
        expiresAt: EXPIRES_AT_SECOND,
        roleId: 'read-bucket',
        description: 'managed policy /jit/jit-b9c3d4e5 attached to IAM user bob',
      },
      {
        requestId: 'k7m2xq9d',
        expiresAt: EXPIRES_AT_SECOND,
        roleId: 'read-logs',
        description: 'managed policy /jit/jit-k7m2xq9d attached to IAM user alice',
      },
      {
        requestId: 'o1d0o1d0',
        expiresAt: EXPIRES_AT_SECOND,
        roleId: 'read-bucket',
        description: 'inline policy jit-o1d0o1d0 on IAM user bob',
      },
      {
        requestId: 'p4x8w2na',
        expiresAt: LATER,
        roleId: 'deployer',
        description: 'managed policy /jit/jit-p4x8w2na attached to IAM user alice',
      },
    ]);
    expect(proxy.paramsOf('ListPolicies').map((params) => [params.Scope, params.PathPrefix])).toEqual([
      ['Local', '/jit/'],
    ]);
    expect(proxy.count('GetPolicyVersion')).toBe(3);
    expect(proxy.count('ListEntitiesForPolicy')).toBe(3);

    const alicesLogs = found.find((each) => each.requestId === 'k7m2xq9d');
    if (alicesLogs === undefined) throw new Error('not found');
    expect(alicesLogs.spec.memo).toEqual({ userName: 'alice', policyArn: managedArn('k7m2xq9d') });
    expect(await provider.verify(alicesLogs.spec)).toBe(true);
    expect(provider.sweeps(alicesLogs.spec)).toBe(true);

    await provider.revoke(alicesLogs.spec);
    expect(await accountPolicies()).toEqual(['/jit/jit-b9c3d4e5', '/jit/jit-p4x8w2na']);
    await expect(provider.revoke(alicesLogs.spec)).resolves.toBeUndefined();
    const legacy = found.find((each) => each.requestId === 'o1d0o1d0');
    await provider.revoke(legacy?.spec as GrantSpec);
    expect(await policyNames('bob')).toEqual([]);
    expect(summary(await provider.findGrants(IAM_ROLES)).map((each) => each.requestId)).toEqual([
      'b9c3d4e5',
      'p4x8w2na',
    ]);
  });

  it('an extended grant is found with its new expiry', async () => {
    await createUser('alice');
    const provider = newProvider();
    const first = await provider.grant(spec(READ_LOGS_ROLE, 'alice'));
    await provider.grant(spec(READ_LOGS_ROLE, 'alice', { expiresAt: LATER, memo: first.memo }));
    expect(summary(await provider.findGrants([READ_LOGS_ROLE]))).toEqual([
      expect.objectContaining({ requestId: 'k7m2xq9d', expiresAt: LATER, roleId: 'read-logs' }),
    ]);
  });

  it('reports a policy attached to no one (a crash mid-grant or mid-revoke) so it can be deleted, versions and all', async () => {
    await createUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(READ_BUCKET_ROLE, 'alice', { expiresAt: Date.UTC(2020, 0, 1) }));
    await provider.grant(spec(READ_BUCKET_ROLE, 'alice', { expiresAt: Date.UTC(2020, 0, 2), memo: outcome.memo }));
    await iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: managedArn('k7m2xq9d') }));

    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(summary(found)).toEqual([
      {
        requestId: 'k7m2xq9d',
        expiresAt: Date.UTC(2020, 0, 2),
        roleId: 'read-bucket',
        description: 'managed policy /jit/jit-k7m2xq9d, attached to no IAM user',
      },
    ]);
    expect(found[0]?.spec.memo).toEqual({ policyArn: managedArn('k7m2xq9d') });
    await provider.revoke(found[0]?.spec as GrantSpec);
    expect(await accountPolicies()).toEqual([]);
  });

  it('ignores policies not exactly /jit/jit-<requestId>, and never reads them', async () => {
    await createUser('carol');
    const provider = newProvider();
    await provider.grant(spec(READ_BUCKET_ROLE, 'carol', { requestId: 'c0ffee42' }));
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [ALLOW_GET_USER] });
    for (const [path, name] of [
      ['/jit/deeper/', 'jit-abc12345'],
      ['/jit/', 'team-baseline'],
      ['/jit/', 'jit-ABC12345'],
      ['/', 'jit-abc12345'],
    ] as const) {
      await iam.send(new CreatePolicyCommand({ Path: path, PolicyName: name, PolicyDocument: document }));
    }
    proxy.clear();
    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId)).toEqual(['c0ffee42']);
    expect(proxy.paramsOf('GetPolicyVersion').map((params) => params.PolicyArn)).toEqual([managedArn('c0ffee42')]);
  });

  it('pages the listing; sweeps() is false after a failed read of the policy or a failed listing', async () => {
    const provider = newProvider({ pageSize: 2, concurrency: 1 });
    await createUser('dana');
    const grants = ['d1d1d1d1', 'd2d2d2d2', 'd3d3d3d3'].map((requestId) =>
      spec(READ_BUCKET_ROLE, 'dana', { requestId }),
    );
    const stored: GrantSpec[] = [];
    for (const each of grants) stored.push({ ...each, memo: (await provider.grant(each)).memo });
    proxy.clear();

    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId).sort()).toEqual(['d1d1d1d1', 'd2d2d2d2', 'd3d3d3d3']);
    // moto pages ListPolicies by MaxItems itself, with a marker of its own.
    const listings = proxy.paramsOf('ListPolicies');
    expect(listings.map((params) => params.MaxItems)).toEqual(['2', '2']);
    expect(listings[0]?.Marker).toBeUndefined();
    expect(listings[1]?.Marker).toEqual(expect.any(String));
    for (const each of stored) expect(provider.sweeps(each)).toBe(true);

    // Policies are read in listing order, one at a time: every attempt on the first fails.
    proxy.fail('GetPolicyVersion', 4, queryError('ServiceFailure', 'oops', 500));
    const partial = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(partial).toHaveLength(2);
    const unread = stored.filter((each) => !partial.some((found) => found.requestId === each.requestId));
    expect(unread).toHaveLength(1);
    for (const each of stored) expect(provider.sweeps(each)).toBe(!unread.includes(each));

    proxy.clear();
    proxy.fail('ListPolicies', 1, queryError('AccessDenied', 'not authorized', 403));
    const denied = await rejection(provider.findGrants([READ_BUCKET_ROLE]));
    expect(denied.retryable).toBe(false);
    expect(denied.message).toContain('add iam:ListPolicies to the bot');
    for (const each of stored) expect(provider.sweeps(each)).toBe(false);
  });
});

describe('findGrants: inline policies of earlier versions', () => {
  it('finds what grant wrote, with request ID, exact expiry, role and place; revoke(found.spec) removes only it', async () => {
    await createUser('alice');
    await createUser('bob');
    await putPolicy('alice', 'team-baseline', [ALLOW_GET_USER]);
    const provider = newProvider();
    await legacyGrant(spec(READ_LOGS_ROLE, 'alice'));
    await legacyGrant(spec(DEPLOYER_ROLE, 'alice', { requestId: 'p4x8w2na', expiresAt: LATER }));
    await legacyGrant(spec(READ_BUCKET_ROLE, 'bob', { requestId: 'b9c3d4e5' }));
    proxy.clear();

    const found = await provider.findGrants(IAM_ROLES);

    expect(summary(found)).toEqual([
      {
        requestId: 'b9c3d4e5',
        expiresAt: EXPIRES_AT_SECOND,
        roleId: 'read-bucket',
        description: 'inline policy jit-b9c3d4e5 on IAM user bob',
      },
      {
        requestId: 'k7m2xq9d',
        expiresAt: EXPIRES_AT_SECOND,
        roleId: 'read-logs',
        description: 'inline policy jit-k7m2xq9d on IAM user alice',
      },
      {
        requestId: 'p4x8w2na',
        expiresAt: LATER,
        roleId: 'deployer',
        description: 'inline policy jit-p4x8w2na on IAM user alice',
      },
    ]);
    // One listing for all three roles; the baseline policy is listed but never read.
    expect(proxy.count('ListUsers')).toBe(1);
    expect(proxy.count('ListUserPolicies')).toBe(2);
    expect(proxy.count('GetUserPolicy')).toBe(3);

    const alicesLogs = found.find((each) => each.requestId === 'k7m2xq9d');
    if (alicesLogs === undefined) throw new Error('not found');
    expect(alicesLogs.spec).toMatchObject({
      requestId: 'k7m2xq9d',
      target: READ_LOGS_ROLE.target,
      memo: { userName: 'alice' },
      expiresAt: EXPIRES_AT_SECOND,
    });
    // The spec names exactly the artefact as it stands.
    expect(await provider.verify(alicesLogs.spec)).toBe(true);

    await provider.revoke(alicesLogs.spec);
    expect(await policyNames('alice')).toEqual(['jit-p4x8w2na', 'team-baseline']);
    expect(await policyNames('bob')).toEqual(['jit-b9c3d4e5']);
    // Gone meanwhile (the revoke job got there first): still a success.
    await expect(provider.revoke(alicesLogs.spec)).resolves.toBeUndefined();
    expect(summary(await provider.findGrants(IAM_ROLES)).map((each) => each.requestId)).toEqual([
      'b9c3d4e5',
      'p4x8w2na',
    ]);
  });

  it('a grant moved to a later expiry is found with the new one', async () => {
    await createUser('alice');
    const provider = newProvider();
    await legacyGrant(spec(READ_LOGS_ROLE, 'alice'));
    await legacyGrant(spec(READ_LOGS_ROLE, 'alice', { expiresAt: LATER }));
    expect(summary(await provider.findGrants([READ_LOGS_ROLE]))).toEqual([
      expect.objectContaining({ requestId: 'k7m2xq9d', expiresAt: LATER, roleId: 'read-logs' }),
    ]);
  });

  it('never returns policies whose name is not exactly jit-<requestId>, and never reads them', async () => {
    await createUser('carol');
    const provider = newProvider();
    await legacyGrant(spec(READ_BUCKET_ROLE, 'carol', { requestId: 'c0ffee42' }));
    const bounded = { ...ALLOW_GET_USER, Condition: { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } };
    for (const name of [
      'team-baseline',
      'jit-notours-extra',
      'jit-c0ffee42-old',
      'jit-ABC12345',
      'JIT-abc12345',
      'jit-',
      'jit_abc12345',
      'xjit-abc12345',
      `jit-${'a'.repeat(65)}`,
    ]) {
      await putPolicy('carol', name, [bounded]);
    }
    proxy.clear();

    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId)).toEqual(['c0ffee42']);
    expect(proxy.paramsOf('GetUserPolicy').map((params) => params.PolicyName)).toEqual(['jit-c0ffee42']);

    await provider.revoke(found[0]?.spec as GrantSpec);
    expect(await policyNames('carol')).not.toContain('jit-c0ffee42');
    expect(await policyNames('carol')).toHaveLength(9);
  });

  it('a 64-character request ID is the longest that matches', async () => {
    await createUser('dave');
    const longest = 'a1'.repeat(32);
    await putPolicy('dave', `jit-${longest}`, [ALLOW_GET_USER]);
    const found = await newProvider().findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId)).toEqual([longest]);
  });

  it('identity-center roles are not swept: nothing is read and standing assignments are never returned', async () => {
    const instance = (await ssoAdmin.send(new ListInstancesCommand({}))).Instances?.[0];
    const instanceArn = instance?.InstanceArn ?? '';
    const instanceId = instanceArn.slice(instanceArn.lastIndexOf('/') + 1);
    const permissionSetArn = `arn:aws:sso:::permissionSet/${instanceId}/ps-0123456789abcdef`;
    await ssoAdmin.send(
      new CreateAccountAssignmentCommand({
        InstanceArn: instanceArn,
        TargetId: ACCOUNT,
        TargetType: 'AWS_ACCOUNT',
        PermissionSetArn: permissionSetArn,
        PrincipalType: 'USER',
        PrincipalId: 'standing-user',
      }),
    );
    await createUser('alice');
    await putPolicy('alice', 'jit-k7m2xq9d', [ALLOW_GET_USER]);
    const identityCenter: RoleTargetRef = {
      roleId: 'sso-admin',
      target: { kind: 'identity-center', instanceArn, accountId: ACCOUNT, permissionSetArn },
    };
    const provider = newProvider();

    expect(await provider.findGrants([identityCenter])).toEqual([]);
    expect(await provider.findGrants([])).toEqual([]);
    expect(proxy.calls()).toEqual([]);

    // With an IAM role as well, only IAM is read, once.
    const found = await provider.findGrants([identityCenter, READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId)).toEqual(['k7m2xq9d']);
    expect([...new Set(proxy.calls())].sort()).toEqual([
      'GetUserPolicy',
      'ListPolicies',
      'ListUserPolicies',
      'ListUsers',
    ]);
  });

  it('attributes a policy no role of the policy in force would write to no role, and still revokes it', async () => {
    await createUser('erin');
    const provider = newProvider();
    // Granted under targets the policy has changed since.
    const retired: RoleTargetRef = {
      roleId: 'retired',
      target: { kind: 'iam-policy', statements: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] },
    };
    const otherDeployer: RoleTargetRef = {
      roleId: 'old-deployer',
      target: { kind: 'assume-role', roleArn: 'arn:aws:iam::111122223333:role/OldDeployer' },
    };
    await legacyGrant(spec(retired, 'erin', { requestId: 'r1r2r3r4' }));
    await legacyGrant(spec(otherDeployer, 'erin', { requestId: 'd1d2d3d4' }));

    const found = byRequest(await provider.findGrants(IAM_ROLES));
    expect(found.map((each) => [each.requestId, each.spec.roleId, each.spec.target])).toEqual([
      ['d1d2d3d4', '', otherDeployer.target],
      ['r1r2r3r4', '', retired.target],
    ]);
    // The target read back from the document is the one the grant used.
    for (const each of found) expect(await provider.verify(each.spec)).toBe(true);

    for (const each of found) await provider.revoke(each.spec);
    expect(await policyNames('erin')).toEqual([]);
  });
});

describe('sweeps: which stored grants the last sweep could see', () => {
  it('only users the last sweep read in full, only IAM kinds, and nothing after a failed sweep', async () => {
    const provider = newProvider({ concurrency: 1 });
    for (const user of ['Mona', 'ned']) await createUser(user);
    const mona = spec(READ_BUCKET_ROLE, 'mona', { requestId: 'm1m1m1m1', memo: { userName: 'mona' } });
    const ned = spec(DEPLOYER_ROLE, 'ned', { requestId: 'n1n1n1n1' });
    await legacyGrant(ned);
    const identityCenter = spec(
      {
        roleId: 'sso',
        target: {
          kind: 'identity-center',
          instanceArn: 'arn:aws:sso:::instance/ssoins-1234567890abcdef',
          accountId: ACCOUNT,
          permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef',
        },
      },
      'ned',
      { memo: { userId: 'u-1', identityStoreId: 'd-1234567890' } },
    );
    expect(provider.sweeps(ned)).toBe(false);

    await provider.findGrants(IAM_ROLES);
    // IAM user names ignore case: the memo's "mona" is the listed "Mona".
    expect(provider.sweeps(mona)).toBe(true);
    expect(provider.sweeps(ned)).toBe(true);
    expect(provider.sweeps(spec(READ_BUCKET_ROLE, 'olga'))).toBe(false);
    expect(provider.sweeps(identityCenter)).toBe(false);

    proxy.clear();
    // Users are read in listing order, one at a time: every attempt on Mona fails.
    proxy.fail('ListUserPolicies', 4, queryError('ServiceFailure', 'oops', 500));
    await provider.findGrants(IAM_ROLES);
    expect(provider.sweeps(mona)).toBe(false);
    expect(provider.sweeps(ned)).toBe(true);

    proxy.clear();
    proxy.fail('ListUsers', 4, queryError('ServiceFailure', 'oops', 500));
    await rejection(provider.findGrants(IAM_ROLES));
    expect(provider.sweeps(ned)).toBe(false);
  });
});

describe('revoke of a swept artefact', () => {
  it('needs only the kind, user and request ID: statements the schema refuses do not stop it', async () => {
    await createUser('lee');
    await putPolicy('lee', 'jit-l1l1l1l1', [ALLOW_GET_USER]);
    const provider = newProvider();
    const odd = { kind: 'iam-policy', statements: [{ Effect: 'Allow', Action: 'iam:GetUser', Principal: '*' }] };
    await provider.revoke(
      spec({ roleId: '', target: odd }, 'lee', { requestId: 'l1l1l1l1', memo: { userName: 'lee' } }),
    );
    expect(await policyNames('lee')).toEqual([]);

    const error = await rejection(
      provider.revoke(spec({ roleId: '', target: { kind: 'iam-role' } }, 'lee', { memo: { userName: 'lee' } })),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('kind must be one of');
  });
});

describe('findGrants: expiries read from the document', () => {
  async function expiryOf(statement: unknown): Promise<number | undefined> {
    await createUser('frank');
    await putPolicy('frank', 'jit-e1e2e3e4', statement);
    const found = await newProvider().findGrants([READ_BUCKET_ROLE]);
    expect(found).toHaveLength(1);
    return found[0]?.expiresAt;
  }

  const until = (value: unknown, key = 'aws:CurrentTime') => ({
    ...ALLOW_GET_USER,
    Condition: { DateLessThan: { [key]: value } },
  });

  it('reads an expiry already past to the second', async () => {
    expect(await expiryOf([until('2020-06-30T23:59:59Z')])).toBe(Date.UTC(2020, 5, 30, 23, 59, 59));
  });

  it('reads an expiry still ahead, with fractions of a second, to the millisecond', async () => {
    expect(await expiryOf([until('2031-01-02T12:00:00.250Z')])).toBe(Date.UTC(2031, 0, 2, 12, 0, 0, 250));
  });

  it('takes the earliest when statements differ, and ignores statements without one', async () => {
    expect(await expiryOf([until('2031-01-02T12:00:00Z'), until('2030-05-01T08:00:00Z'), ALLOW_GET_USER])).toBe(
      Date.UTC(2030, 4, 1, 8),
    );
  });

  it('takes the latest of several values of one condition (AWS ORs them)', async () => {
    expect(await expiryOf([until(['2030-05-01T08:00:00Z', '2031-01-01T00:00:00Z'])])).toBe(Date.UTC(2031, 0, 1));
  });

  it('matches the condition key without regard to case, and takes epoch seconds', async () => {
    expect(await expiryOf(until('1924992000', 'AWS:currentTIME'))).toBe(1_924_992_000_000);
  });

  it('reports no expiry when the document names none, keeping the artefact revocable', async () => {
    await createUser('gina');
    await putPolicy('gina', 'jit-n0n0n0n0', [
      ALLOW_GET_USER,
      { ...ALLOW_GET_USER, Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } },
    ]);
    const provider = newProvider();
    const [found] = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found?.requestId).toBe('n0n0n0n0');
    expect(found?.expiresAt).toBeUndefined();
    expect(found && 'expiresAt' in found).toBe(false);
    expect(found?.spec.expiresAt).toBe(0);
    await provider.revoke(found?.spec as GrantSpec);
    expect(await policyNames('gina')).toEqual([]);
  });

  it('parses dates strictly', () => {
    expect(parseAwsDate('2031-01-02T12:00:00Z')).toBe(Date.UTC(2031, 0, 2, 12));
    expect(parseAwsDate('2031-01-02T12:00:00.5Z')).toBe(Date.UTC(2031, 0, 2, 12, 0, 0, 500));
    expect(parseAwsDate('2031-01-02T12:00:00.123456Z')).toBe(Date.UTC(2031, 0, 2, 12, 0, 0, 123));
    expect(parseAwsDate(1_924_992_000)).toBe(1_924_992_000_000);
    for (const bad of ['2031-02-30T00:00:00Z', '2031-01-02T24:00:00Z', '2031-01-02', '2031-01-02T12:00:00', 'soon']) {
      expect(parseAwsDate(bad)).toBeUndefined();
    }
    expect(parseAwsDate(undefined)).toBeUndefined();
    expect(policyDocumentExpiry({ Statement: until('2031-01-02T12:00:00Z') })).toBe(Date.UTC(2031, 0, 2, 12));
    expect(policyDocumentExpiry('not a document')).toBeUndefined();
    expect(requestIdOfPolicyName('jit-k7m2xq9d')).toBe('k7m2xq9d');
    expect(requestIdOfPolicyName('jit-notours-extra')).toBeUndefined();
  });
});

describe('findGrants: paging', () => {
  it('pages users and each user’s policies with MaxItems, finding grants on every page', async () => {
    const provider = newProvider({ pageSize: 3, concurrency: 2 });
    const users = Array.from({ length: 8 }, (_, index) => `user${index}`);
    for (const user of users) await createUser(user);
    await legacyGrant(spec(READ_LOGS_ROLE, 'user0', { requestId: 'aaaa0000' }));
    await legacyGrant(spec(DEPLOYER_ROLE, 'user4', { requestId: 'bbbb4444' }));
    await legacyGrant(spec(READ_BUCKET_ROLE, 'user7', { requestId: 'cccc7777' }));
    // user5 holds more policies than a page: its jit policy comes on the last page of its policies.
    for (const name of ['a-one', 'b-two', 'c-three', 'd-four', 'jit-notours-extra']) {
      await putPolicy('user5', name, [ALLOW_GET_USER]);
    }
    await legacyGrant(spec(READ_BUCKET_ROLE, 'user5', { requestId: 'dddd5555' }));
    proxy.clear();
    proxy.paginate('ListUsers', 'Users');
    proxy.paginate('ListUserPolicies', 'PolicyNames');

    const found = await provider.findGrants(IAM_ROLES);

    expect(summary(found).map((each) => [each.requestId, each.roleId, each.description])).toEqual([
      ['aaaa0000', 'read-logs', 'inline policy jit-aaaa0000 on IAM user user0'],
      ['bbbb4444', 'deployer', 'inline policy jit-bbbb4444 on IAM user user4'],
      ['cccc7777', 'read-bucket', 'inline policy jit-cccc7777 on IAM user user7'],
      ['dddd5555', 'read-bucket', 'inline policy jit-dddd5555 on IAM user user5'],
    ]);
    const listings = proxy.paramsOf('ListUsers');
    expect(listings.map((params) => [params.MaxItems, params.Marker])).toEqual([
      ['3', undefined],
      ['3', 'page-3'],
      ['3', 'page-6'],
    ]);
    const user5 = proxy.paramsOf('ListUserPolicies').filter((params) => params.UserName === 'user5');
    expect(user5.map((params) => params.Marker)).toEqual([undefined, 'page-3']);
    expect(proxy.count('ListUserPolicies')).toBe(users.length + 1);
    expect(proxy.count('GetUserPolicy')).toBe(4);
  });
});

describe('findGrants: failures', () => {
  async function threeUsersWithGrants(): Promise<void> {
    for (const [user, requestId] of [
      ['hal', 'h0h0h0h0'],
      ['ivy', 'i1i1i1i1'],
      ['jay', 'j2j2j2j2'],
    ] as const) {
      await createUser(user);
      await legacyGrant(spec(READ_BUCKET_ROLE, user, { requestId }));
    }
    proxy.clear();
  }

  it('rides out throttling and 5xx within each call', async () => {
    const provider = newProvider({ concurrency: 1 });
    await threeUsersWithGrants();
    proxy.fail('ListUsers', 1, queryError('Throttling', 'Rate exceeded'));
    proxy.fail('ListUserPolicies', 2, queryError('ServiceFailure', 'oops', 500));
    proxy.fail('GetUserPolicy', 1, queryError('Throttling', 'Rate exceeded'));
    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId).sort()).toEqual(['h0h0h0h0', 'i1i1i1i1', 'j2j2j2j2']);
    expect(proxy.count('ListUsers')).toBe(2);
  });

  it('returns the other users’ grants when one user cannot be read', async () => {
    const provider = newProvider({ concurrency: 1 });
    await threeUsersWithGrants();
    // Users are read in listing order, one at a time: every attempt on the first user fails.
    proxy.fail('ListUserPolicies', 4, queryError('ServiceFailure', 'oops', 500));
    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId).sort()).toEqual(['i1i1i1i1', 'j2j2j2j2']);

    proxy.clear();
    proxy.fail('GetUserPolicy', 4, queryError('ServiceFailure', 'oops', 500));
    const again = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(again.map((each) => each.requestId).sort()).toEqual(['i1i1i1i1', 'j2j2j2j2']);
  });

  it('keeps the users listed before a later ListUsers page failed', async () => {
    const provider = newProvider({ pageSize: 2, concurrency: 1 });
    await threeUsersWithGrants();
    proxy.paginate('ListUsers', 'Users');
    // Faults apply in the order given: the first page passes, every attempt at the second fails.
    proxy.rewrite('ListUsers', 1, (body) => body);
    proxy.fail('ListUsers', 4, queryError('ServiceFailure', 'oops', 500));
    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(proxy.count('ListUsers')).toBe(5);
    expect(found.map((each) => each.requestId).sort()).toEqual(['h0h0h0h0', 'i1i1i1i1']);
  });

  it('fails, retryable, when no user could be read', async () => {
    const provider = newProvider({ concurrency: 1 });
    await threeUsersWithGrants();
    proxy.fail('ListUserPolicies', 12, queryError('ServiceFailure', 'oops', 500));
    const error = await rejection(provider.findGrants([READ_BUCKET_ROLE]));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('iam:ListUserPolicies');
  });

  it('fails when users cannot be listed: retryable when throttled, naming the action when denied', async () => {
    const provider = newProvider();
    await threeUsersWithGrants();
    proxy.fail('ListUsers', 4, queryError('Throttling', 'Rate exceeded'));
    const throttled = await rejection(provider.findGrants([READ_BUCKET_ROLE]));
    expect(throttled.retryable).toBe(true);
    expect(throttled.message).toContain('iam:ListUsers');
    expect(proxy.count('ListUsers')).toBe(4);

    proxy.clear();
    proxy.fail('ListUsers', 1, queryError('AccessDenied', 'not authorized', 403));
    const denied = await rejection(provider.findGrants([READ_BUCKET_ROLE]));
    expect(denied.retryable).toBe(false);
    expect(denied.message).toContain('add iam:ListUsers to the bot');
    expect(proxy.count('ListUserPolicies')).toBe(0);
  });

  it('a user or policy deleted between listing and reading is simply not there', async () => {
    const provider = newProvider({ concurrency: 1 });
    await createUser('kim');
    await legacyGrant(spec(READ_BUCKET_ROLE, 'kim', { requestId: 'k1k1k1k1' }));
    await legacyGrant(spec(READ_BUCKET_ROLE, 'kim', { requestId: 'k2k2k2k2' }));
    proxy.clear();
    // The first policy is gone by the time it is read.
    proxy.fail('GetUserPolicy', 1, queryError('NoSuchEntity', 'The user policy cannot be found.', 404));
    const found = await provider.findGrants([READ_BUCKET_ROLE]);
    expect(found.map((each) => each.requestId)).toEqual(['k2k2k2k2']);

    // The only user is gone by the time its policies are listed: nothing found, and no failure either.
    proxy.clear();
    proxy.fail('ListUserPolicies', 1, queryError('NoSuchEntity', 'The user with name kim cannot be found.', 404));
    expect(await provider.findGrants([READ_BUCKET_ROLE])).toEqual([]);
    expect(proxy.count('ListUserPolicies')).toBe(1);
    expect(proxy.count('GetUserPolicy')).toBe(0);
  });
});
