import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  DeletePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateUserCommand as CreateStoreUserCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  ListAccountAssignmentsCommand,
  ListInstancesCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { CloudProviderError } from '../../../src/domain/errors';
import type { GrantSpec } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { AwsProvider, createAwsProvider } from '../../../src/providers/aws/aws-provider';
import {
  awsTargetSchema,
  type IamStatement,
  MANAGED_POLICY_LIMIT,
  policySize,
  timeBoundPolicy,
} from '../../../src/providers/aws/aws-target';
import { type AwsTestEnv, rejectionOf, startAwsTestEnv } from '../../support/aws-test-env';
import { type FaultProxy, jsonError, jsonReply, type MotoServer, queryError } from '../../support/moto-server';
import { testPacing } from '../../support/pacing';

const logger = createLogger({ level: 'silent' });
const ACCOUNT = '111122223333';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/ops/Deployer';
/** 12:00:00.750 UTC: the policy holds it to the second, rounded down. */
const EXPIRES_AT = Date.UTC(2031, 0, 2, 12, 0, 0, 750);
const EXPIRY = '2031-01-02T12:00:00Z';
const LATER = Date.UTC(2031, 0, 2, 14, 30, 0);
const LATER_EXPIRY = '2031-01-02T14:30:00Z';

const READ_LOGS = [
  { Sid: 'ReadLogs', Effect: 'Allow', Action: ['logs:Get*', 'logs:Describe*'], Resource: '*' },
  {
    Effect: 'Allow',
    Action: 's3:GetObject',
    Resource: 'arn:aws:s3:::audit-bucket/*',
    Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' }, DateLessThan: { 'aws:EpochTime': 1999999999 } },
  },
];

let aws: AwsTestEnv;
let moto: MotoServer;
let proxy: FaultProxy;
/** Clients that read the emulator directly, not through the proxy, to check what the provider left there. */
let iam: IAMClient;
let ssoAdmin: SSOAdminClient;
let identityStore: IdentitystoreClient;

beforeAll(async () => {
  // The provider's clients find the emulator the way they would find a real endpoint override.
  aws = await startAwsTestEnv({ env: true });
  ({ moto, proxy, iam, ssoAdmin, identityStore } = aws);
}, 30_000);

afterAll(async () => {
  await aws?.stop();
});

beforeEach(async () => {
  await moto.reset();
  proxy.clear();
});

/** A provider built as in production, with quick retries and polling so the suite stays fast. */
function newProvider(): AwsProvider {
  return new AwsProvider({
    logger,
    retry: { attempts: 4, baseMs: 1, capMs: 5 },
    statusPolling: { intervalMs: 5, attempts: 4 },
    pacing: testPacing(),
  });
}

function spec(target: Record<string, unknown>, overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: 'k7m2xq9d',
    roleId: 'aws-role',
    target,
    principal: { slackUserId: 'U0ALICE', identities: { aws: 'alice' }, email: 'alice@example.com' },
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

/** moto's account; the bot learns it from the user's ARN. */
const MOTO_ACCOUNT = '123456789012';
const policyArn = (requestId = 'k7m2xq9d') => `arn:aws:iam::${MOTO_ACCOUNT}:policy/jit/jit-${requestId}`;

async function userPolicyNames(userName: string): Promise<string[]> {
  return ((await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? []).sort();
}

/** The managed policies attached to the user, by name. */
async function attachedNames(userName: string): Promise<string[]> {
  const answer = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }));
  return (answer.AttachedPolicies ?? []).map((policy) => policy.PolicyName ?? '').sort();
}

/** Every customer managed policy in the account, as path and name: what a grant may have left behind. */
async function accountPolicies(): Promise<string[]> {
  const answer = await iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
  return (answer.Policies ?? []).map((policy) => `${policy.Path}${policy.PolicyName}`).sort();
}

/** The default version's document of the request's managed policy. */
async function managedDocument(requestId = 'k7m2xq9d'): Promise<unknown> {
  const policy = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn(requestId) }));
  const version = await iam.send(
    new GetPolicyVersionCommand({ PolicyArn: policyArn(requestId), VersionId: policy.Policy?.DefaultVersionId }),
  );
  return JSON.parse(decodeURIComponent(version.PolicyVersion?.Document ?? ''));
}

async function versionCount(requestId = 'k7m2xq9d'): Promise<number> {
  return ((await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn(requestId) }))).Versions ?? []).length;
}

const ALLOW_GET_USER = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
};

/** An IAM user who already has an inline policy the bot did not write. */
async function createIamUser(userName: string): Promise<void> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: 'team-baseline',
      PolicyDocument: JSON.stringify(ALLOW_GET_USER),
    }),
  );
}

/** A managed policy someone other than the bot made, attached to the user when one is given. */
async function standingPolicy(name: string, userName?: string): Promise<void> {
  const created = await iam.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(ALLOW_GET_USER) }),
  );
  if (userName !== undefined) {
    await iam.send(new AttachUserPolicyCommand({ UserName: userName, PolicyArn: created.Policy?.Arn }));
  }
}

async function rejection(promise: Promise<unknown>): Promise<CloudProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof CloudProviderError)) throw new Error(`expected a CloudProviderError, got ${String(error)}`);
  return error;
}

/** A statement of about `size` characters, distinct per `index`. */
function sizedStatement(index: number, size: number): IamStatement {
  const base = { Effect: 'Allow' as const, Action: 's3:GetObject', Resource: [] as string[] };
  const resources: string[] = [];
  let n = 0;
  while (JSON.stringify({ ...base, Resource: resources }).length < size - 40) {
    resources.push(`arn:aws:s3:::bucket-${index}-${n}/*`);
    n += 1;
  }
  return { ...base, Resource: resources };
}

describe('AwsProvider basics', () => {
  it('is the "aws" provider, names people by email, and is built from the default chain', () => {
    const provider = createAwsProvider(logger);
    expect(provider.name).toBe('aws');
    expect(provider.identifiesPeopleByEmail).toBe(true);
  });

  it('reaches the endpoint in AWS_ENDPOINT_URL when no per-service variable is set', async () => {
    await createIamUser('alice');
    const perService = {
      iam: process.env.AWS_ENDPOINT_URL_IAM,
      sso: process.env.AWS_ENDPOINT_URL_SSO_ADMIN,
      store: process.env.AWS_ENDPOINT_URL_IDENTITYSTORE,
    };
    delete process.env.AWS_ENDPOINT_URL_IAM;
    delete process.env.AWS_ENDPOINT_URL_SSO_ADMIN;
    delete process.env.AWS_ENDPOINT_URL_IDENTITYSTORE;
    process.env.AWS_ENDPOINT_URL = moto.url;
    try {
      await createAwsProvider(logger).grant(spec({ kind: 'iam-policy', statements: READ_LOGS }));
    } finally {
      delete process.env.AWS_ENDPOINT_URL;
      Object.assign(process.env, {
        AWS_ENDPOINT_URL_IAM: perService.iam,
        AWS_ENDPOINT_URL_SSO_ADMIN: perService.sso,
        AWS_ENDPOINT_URL_IDENTITYSTORE: perService.store,
      });
    }
    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(proxy.calls()).toEqual([]);
  });
});

describe('kind: iam-policy', () => {
  const target = { kind: 'iam-policy', statements: READ_LOGS };

  it('creates the managed policy /jit/jit-<requestId> with every statement bound to the expiry, attached to the user', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));

    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    expect(await accountPolicies()).toEqual(['/jit/jit-k7m2xq9d']);
    expect(await managedDocument()).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadLogs',
          Effect: 'Allow',
          Action: ['logs:Get*', 'logs:Describe*'],
          Resource: '*',
          Condition: { DateLessThan: { 'aws:CurrentTime': EXPIRY } },
        },
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::audit-bucket/*',
          Condition: {
            StringEquals: { 'aws:RequestedRegion': 'eu-west-1' },
            DateLessThan: { 'aws:EpochTime': '1999999999', 'aws:CurrentTime': EXPIRY },
          },
        },
      ],
    });
    expect(outcome.memo).toEqual({ userName: 'alice', policyArn: policyArn() });
    expect(outcome.instructions).toContain('`jit-k7m2xq9d`');
    expect(outcome.instructions).toContain(EXPIRY);
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(true);
  });

  it('names the IAM user by email when the principals map has no aws entry', async () => {
    await createIamUser('bob@example.com');
    const outcome = await newProvider().grant(
      spec(target, { principal: { slackUserId: 'U0BOB', identities: {}, email: 'bob@example.com' } }),
    );
    expect(outcome.memo).toEqual({ userName: 'bob@example.com', policyArn: policyArn() });
    expect(await attachedNames('bob@example.com')).toEqual(['jit-k7m2xq9d']);
  });

  it('an extension writes a new default version of the same policy; a replay writes nothing; verify checks the expiry', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const first = await provider.grant(spec(target));
    const second = await provider.grant(spec(target, { expiresAt: LATER, memo: first.memo }));
    expect(second.memo).toEqual(first.memo);

    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(await accountPolicies()).toEqual(['/jit/jit-k7m2xq9d']);
    const document = (await managedDocument()) as { Statement: { Condition: unknown }[] };
    for (const statement of document.Statement) {
      expect(statement.Condition).toMatchObject({ DateLessThan: { 'aws:CurrentTime': LATER_EXPIRY } });
    }
    expect(await provider.verify(spec(target, { expiresAt: LATER, memo: second.memo }))).toBe(true);
    expect(await provider.verify(spec(target, { expiresAt: EXPIRES_AT, memo: second.memo }))).toBe(false);

    proxy.clear();
    await provider.grant(spec(target, { expiresAt: LATER, memo: second.memo }));
    expect(proxy.count('CreatePolicyVersion')).toBe(0);
    // The version the extension replaced is deleted at the next one: never more than two.
    await provider.grant(spec(target, { expiresAt: LATER + 60_000, memo: second.memo }));
    expect(await versionCount()).toBe(2);
  });

  it('an extension makes room when the policy already has the 5 versions AWS allows', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const first = await provider.grant(spec(target));
    for (let index = 0; index < 4; index += 1) {
      await iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: policyArn(), PolicyDocument: JSON.stringify(ALLOW_GET_USER) }),
      );
    }
    expect(await versionCount()).toBe(5);
    await provider.grant(spec(target, { expiresAt: LATER, memo: first.memo }));
    expect(await provider.verify(spec(target, { expiresAt: LATER, memo: first.memo }))).toBe(true);
    expect(await versionCount()).toBe(2);
  });

  it('a grant replayed after a crash between creating and attaching reuses its policy', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    proxy.fail('AttachUserPolicy', 4, { status: 503, body: 'Service Unavailable' });
    const crashed = await rejection(provider.grant(spec(target)));
    expect(crashed.retryable).toBe(true);
    expect(await accountPolicies()).toEqual(['/jit/jit-k7m2xq9d']);
    expect(await attachedNames('alice')).toEqual([]);

    const outcome = await provider.grant(spec(target));
    expect(outcome.memo).toEqual({ userName: 'alice', policyArn: policyArn() });
    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(await accountPolicies()).toEqual(['/jit/jit-k7m2xq9d']);
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(true);
  });

  it('refuses a policy of our name that is not under /jit/, touching nothing', async () => {
    await createIamUser('alice');
    proxy.fail(
      'CreatePolicy',
      1,
      queryError(
        'EntityAlreadyExists',
        'A policy called jit-k7m2xq9d already exists. Duplicate names are not allowed.',
        409,
      ),
    );
    const error = await rejection(newProvider().grant(spec(target)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('outside the path /jit/');
    expect(await attachedNames('alice')).toEqual([]);
  });

  it('verify is false when the policy under our name is not exactly ours, or not attached', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));
    await iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: policyArn() }));
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(false);

    await iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: policyArn() }));
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn(),
        SetAsDefault: true,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(false);
  });

  it('revoke detaches and deletes only our policy, versions included; again, or never granted, succeeds', async () => {
    await createIamUser('alice');
    await standingPolicy('team-readonly', 'alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));
    await provider.grant(spec(target, { expiresAt: LATER, memo: outcome.memo }));
    await provider.grant(spec(target, { requestId: 'other123' }));

    await provider.revoke(spec(target, { memo: outcome.memo }));
    expect(await attachedNames('alice')).toEqual(['jit-other123', 'team-readonly']);
    expect(await accountPolicies()).toEqual(['/jit/jit-other123', '/team-readonly']);
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(false);

    await expect(provider.revoke(spec(target, { memo: outcome.memo }))).resolves.toBeUndefined();
    await expect(provider.revoke(spec(target, { requestId: 'never999' }))).resolves.toBeUndefined();
    expect(await attachedNames('alice')).toEqual(['jit-other123', 'team-readonly']);
  });

  it('revoke without a memo (cleanup after a grant that failed) finds and removes the policy', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    await provider.grant(spec(target));
    await provider.revoke(spec(target));
    expect(await attachedNames('alice')).toEqual([]);
    expect(await accountPolicies()).toEqual([]);
  });

  it('refuses, without retrying or writing, a person with no IAM user name', async () => {
    await createIamUser('alice');
    const error = await rejection(
      newProvider().grant(spec(target, { principal: { slackUserId: 'U0NOBODY', identities: {} } })),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('add `aws: <IAM user name>` for them under `principals`');
    expect(error.message).toContain('U0NOBODY');
    expect(proxy.calls()).toEqual([]);
    // The failed grant's cleanup has nothing to do.
    await expect(
      newProvider().revoke(spec(target, { principal: { slackUserId: 'U0NOBODY', identities: {} } })),
    ).resolves.toBeUndefined();
  });

  it('refuses a missing IAM user as not retryable, leaving nothing behind', async () => {
    await createIamUser('alice');
    const ghost = spec(target, { principal: { slackUserId: 'U0GHOST', identities: { aws: 'ghost' } } });
    const error = await rejection(newProvider().grant(ghost));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('There is no IAM user named "ghost"');
    expect(error.message).toContain('`aws: <IAM user name>`');
    expect(proxy.count('AttachUserPolicy')).toBe(1);
    expect(await accountPolicies()).toEqual([]);
    await expect(newProvider().revoke(ghost)).resolves.toBeUndefined();
  });

  it('retries throttling and 5xx within the call', async () => {
    await createIamUser('alice');
    proxy.fail('CreatePolicy', 1, queryError('Throttling', 'Rate exceeded'));
    proxy.fail('AttachUserPolicy', 1, queryError('ServiceFailure', 'internal error', 500));
    await newProvider().grant(spec(target));
    expect(proxy.count('CreatePolicy')).toBe(2);
    expect(proxy.count('AttachUserPolicy')).toBe(2);
    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
  });

  it('turns throttling that outlasts the retries into a retryable error', async () => {
    await createIamUser('alice');
    proxy.fail('CreatePolicy', 10, queryError('Throttling', 'Rate exceeded'));
    const error = await rejection(newProvider().grant(spec(target)));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('iam:CreatePolicy');
    expect(error.message).toContain('Throttling');
    expect(proxy.count('CreatePolicy')).toBe(4);
    expect(await accountPolicies()).toEqual([]);
  });

  it.each([
    ['AccessDenied', queryError('AccessDenied', 'User: bot is not authorized', 403), 'add iam:CreatePolicy to the bot'],
    [
      'MalformedPolicyDocument',
      queryError('MalformedPolicyDocument', 'Policy document should not specify a principal.'),
      "Fix the role's target.statements",
    ],
  ])('fails at once, not retryable, on %s', async (_code, reply, expected) => {
    await createIamUser('alice');
    proxy.fail('CreatePolicy', 5, reply);
    const error = await rejection(newProvider().grant(spec(target)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(expected);
    expect(proxy.count('CreatePolicy')).toBe(1);
  });

  it('names the missing action when the bot may not detach', async () => {
    await createIamUser('alice');
    const outcome = await newProvider().grant(spec(target));
    proxy.fail('DetachUserPolicy', 1, queryError('AccessDenied', 'not authorized', 403));
    const error = await rejection(newProvider().revoke(spec(target, { memo: outcome.memo })));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('iam:DetachUserPolicy');
  });

  it("a target just under AWS's managed policy size is accepted and AWS stores it within the limit", async () => {
    await createIamUser('alice');
    const statements: IamStatement[] = [];
    const fits = (list: IamStatement[]) => awsTargetSchema.safeParse({ kind: 'iam-policy', statements: list }).success;
    while (fits([...statements, bucketStatement(statements.length)]))
      statements.push(bucketStatement(statements.length));

    await newProvider().grant(spec({ kind: 'iam-policy', statements }));
    const stored = policySize(JSON.stringify(await managedDocument()));
    expect(stored).toBeLessThanOrEqual(MANAGED_POLICY_LIMIT);
    expect(stored).toBeGreaterThan(MANAGED_POLICY_LIMIT - 150);

    const over = awsTargetSchema.safeParse({
      kind: 'iam-policy',
      statements: [...statements, bucketStatement(statements.length)],
    });
    expect(over.success).toBe(false);
    const size = Number(/would be (\d+) characters/.exec(over.error?.issues[0]?.message ?? '')?.[1]);
    expect(size).toBeGreaterThan(MANAGED_POLICY_LIMIT);
  });
});

describe('grants made inline by earlier versions', () => {
  const target = { kind: 'iam-policy', statements: READ_LOGS };
  const inlineDocument = () => {
    const parsed = awsTargetSchema.parse(target);
    return timeBoundPolicy(parsed.kind === 'iam-policy' ? parsed.statements : [], EXPIRY);
  };

  async function inlineGrant(): Promise<void> {
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'alice',
        PolicyName: 'jit-k7m2xq9d',
        PolicyDocument: JSON.stringify(inlineDocument()),
      }),
    );
  }

  it('verify reads and revoke deletes the inline policy of a stored grant whose memo names no policy ARN', async () => {
    await createIamUser('alice');
    await inlineGrant();
    const provider = newProvider();
    const stored = spec(target, { memo: { userName: 'alice' } });
    expect(await provider.verify(stored)).toBe(true);

    await provider.revoke(stored);
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    expect(await provider.verify(stored)).toBe(false);
    await expect(provider.revoke(stored)).resolves.toBeUndefined();
  });

  it('extending such a grant moves it to a managed policy and deletes the inline one', async () => {
    await createIamUser('alice');
    await inlineGrant();
    const provider = newProvider();
    const outcome = await provider.grant(spec(target, { expiresAt: LATER, memo: { userName: 'alice' } }));
    expect(outcome.memo).toEqual({ userName: 'alice', policyArn: policyArn() });
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(await provider.verify(spec(target, { expiresAt: LATER, memo: outcome.memo }))).toBe(true);
  });
});

describe('one person, many grants (IAM quotas)', () => {
  it('five concurrent iam-policy grants of 1,500-character statements all hold, verify and revoke cleanly', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const grants = Array.from({ length: 5 }, (_, index) => {
      const statement = sizedStatement(index, 1_500);
      expect(policySize(JSON.stringify(statement))).toBeGreaterThanOrEqual(1_450);
      return spec({ kind: 'iam-policy', statements: [statement] }, { requestId: `many000${index}` });
    });

    const outcomes = await Promise.all(grants.map((each) => provider.grant(each)));
    expect(await attachedNames('alice')).toEqual(grants.map((each) => `jit-${each.requestId}`));
    for (const [index, each] of grants.entries()) {
      expect(await provider.verify({ ...each, memo: outcomes[index]?.memo })).toBe(true);
    }

    await Promise.all(grants.map((each, index) => provider.revoke({ ...each, memo: outcomes[index]?.memo })));
    expect(await attachedNames('alice')).toEqual([]);
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    expect(await accountPolicies()).toEqual([]);
  });

  it('five concurrent assume-role grants to a user whose inline policies are near their 2,048 characters', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'alice',
        PolicyName: 'team-baseline',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [sizedStatement(9, 1_700)] }),
      }),
    );
    const provider = newProvider();
    const grants = Array.from({ length: 5 }, (_, index) =>
      spec(
        { kind: 'assume-role', roleArn: `arn:aws:iam::111122223333:role/ops/Deployer${index}` },
        { requestId: `role000${index}` },
      ),
    );

    const outcomes = await Promise.all(grants.map((each) => provider.grant(each)));
    expect(await attachedNames('alice')).toHaveLength(5);
    for (const [index, each] of grants.entries()) {
      expect(await provider.verify({ ...each, memo: outcomes[index]?.memo })).toBe(true);
    }
    await Promise.all(grants.map((each, index) => provider.revoke({ ...each, memo: outcomes[index]?.memo })));
    expect(await attachedNames('alice')).toEqual([]);
    expect(await accountPolicies()).toEqual([]);
  });

  it("past the user's managed policies quota: a clear, final message naming it, and nothing left behind", async () => {
    await createIamUser('alice');
    for (let index = 0; index < 10; index += 1) await standingPolicy(`team-${index}`, 'alice');
    const error = await rejection(newProvider().grant(spec({ kind: 'iam-policy', statements: READ_LOGS })));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Cannot exceed quota for PoliciesPerUser: 10');
    expect(error.message).toContain('"Managed policies per user"');
    expect(error.message).toContain('Nothing was granted');
    expect(await accountPolicies()).not.toContain('/jit/jit-k7m2xq9d');
    expect(await attachedNames('alice')).toHaveLength(10);
  });

  it("past the account's customer managed policies quota: a clear, final message naming it", async () => {
    await createIamUser('alice');
    // An account at its quota without creating 1,500 policies: its quota is the 2 policies it holds.
    moto.quotas.PoliciesQuota = 2;
    await standingPolicy('team-a');
    await standingPolicy('team-b');
    const error = await rejection(newProvider().grant(spec({ kind: 'assume-role', roleArn: ROLE_ARN })));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Cannot exceed quota for PoliciesPerAccount: 2');
    expect(error.message).toContain('"Customer managed policies per account"');
    expect(await attachedNames('alice')).toEqual([]);
  });
});

describe('the IAM emulator enforces the quotas AWS does and moto does not', () => {
  it("refuses an inline policy that takes a user's inline policies past 2,048 characters together", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    const put = (name: string, size: number) =>
      iam.send(
        new PutUserPolicyCommand({
          UserName: 'alice',
          PolicyName: name,
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [sizedStatement(0, size)] }, null, 2),
        }),
      );
    await put('first', 1_200);
    // Replacing a policy does not count it twice; whitespace (here the indentation) is not counted.
    await put('first', 1_200);
    const refused = await rejectionOf(put('second', 1_200));
    expect(refused?.name).toBe('LimitExceededException');
    expect(refused?.$metadata?.httpStatusCode).toBe(409);
    expect(refused?.message).toBe('Maximum policy size of 2048 bytes exceeded for user alice');
    expect(await userPolicyNames('alice')).toEqual(['first']);
  });

  it('refuses to delete a managed policy still attached or with other versions', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    await standingPolicy('team-a', 'alice');
    const arn = `arn:aws:iam::${MOTO_ACCOUNT}:policy/team-a`;
    const attempt = () =>
      iam.send(new DeletePolicyCommand({ PolicyArn: arn })).then(
        () => 'deleted',
        (error: unknown) => (error as { name?: string }).name,
      );
    expect(await attempt()).toBe('DeleteConflictException');
    await iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn }));
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: JSON.stringify(ALLOW_GET_USER) }));
    expect(await attempt()).toBe('DeleteConflictException');
  });
});

function bucketStatement(index: number): IamStatement {
  return { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bucket-${index}/*` };
}

describe('kind: assume-role', () => {
  const target = { kind: 'assume-role', roleArn: ROLE_ARN };

  it('allows sts:AssumeRole on the role until the expiry and tells exactly how to use it', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));

    expect(await managedDocument()).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'JitAssumeRole',
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: ROLE_ARN,
          Condition: {
            StringEquals: { 'sts:RoleSessionName': 'jit-k7m2xq9d' },
            DateLessThan: { 'aws:CurrentTime': EXPIRY },
          },
        },
      ],
    });
    expect(await attachedNames('alice')).toEqual(['jit-k7m2xq9d']);
    expect(outcome.memo).toEqual({ userName: 'alice', policyArn: policyArn() });
    expect(outcome.instructions).toContain(
      `aws sts assume-role --role-arn ${ROLE_ARN} --role-session-name jit-k7m2xq9d`,
    );
    expect(outcome.instructions).toContain('as the session `jit-k7m2xq9d` only');
    // Switch Role names the session after the IAM user, which the grant refuses: no link, and the DM says why.
    expect(outcome.instructions).not.toContain('switchrole');
    expect(outcome.instructions).toContain("The console's Switch Role cannot name the session");
    expect(outcome.instructions).toContain('MaxSessionDuration');
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(true);
  });

  it('an extension keeps one policy with the new expiry', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const first = await provider.grant(spec(target));
    await provider.grant(spec(target, { expiresAt: LATER, memo: first.memo }));
    expect(await accountPolicies()).toEqual(['/jit/jit-k7m2xq9d']);
    expect(await managedDocument()).toMatchObject({
      Statement: [{ Condition: { DateLessThan: { 'aws:CurrentTime': LATER_EXPIRY } } }],
    });
  });

  it('revoke removes only our policy, and succeeds twice and when nothing was granted', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));
    await provider.revoke(spec(target, { memo: outcome.memo }));
    expect(await attachedNames('alice')).toEqual([]);
    expect(await userPolicyNames('alice')).toEqual(['team-baseline']);
    await expect(provider.revoke(spec(target, { memo: outcome.memo }))).resolves.toBeUndefined();
    await expect(provider.revoke(spec(target, { requestId: 'never999' }))).resolves.toBeUndefined();
    expect(await accountPolicies()).toEqual([]);
  });

  it('refuses a missing IAM user as not retryable', async () => {
    const error = await rejection(
      newProvider().grant(spec(target, { principal: { slackUserId: 'U0GHOST', identities: { aws: 'ghost' } } })),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('There is no IAM user named "ghost"');
  });

  it('retries a 503 and throttling on revoke', async () => {
    await createIamUser('alice');
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));
    proxy.fail('DeletePolicy', 1, { status: 503, body: 'Service Unavailable' });
    proxy.fail('DeletePolicy', 1, queryError('Throttling', 'Rate exceeded'));
    await provider.revoke(spec(target, { memo: outcome.memo }));
    expect(proxy.count('DeletePolicy')).toBe(3);
    expect(await accountPolicies()).toEqual([]);
  });
});

describe('kind: identity-center', () => {
  const PERMISSION_SET_ID = 'ps-0123456789abcdef';
  let instanceArn: string;
  let identityStoreId: string;
  let target: Record<string, string>;
  let aliceId: string;
  let carolId: string;

  beforeEach(async () => {
    const instance = (await ssoAdmin.send(new ListInstancesCommand({}))).Instances?.[0];
    instanceArn = instance?.InstanceArn ?? '';
    identityStoreId = instance?.IdentityStoreId ?? '';
    const instanceId = instanceArn.slice(instanceArn.lastIndexOf('/') + 1);
    target = {
      kind: 'identity-center',
      instanceArn,
      accountId: ACCOUNT,
      permissionSetArn: `arn:aws:sso:::permissionSet/${instanceId}/${PERMISSION_SET_ID}`,
    };
    aliceId = await createStoreUser(identityStoreId, 'alice', 'alice@example.com');
    carolId = await createStoreUser(identityStoreId, 'carol', 'carol@example.com');
    // Carol holds the same permission set on the same account, outside the bot.
    await ssoAdmin.send(new CreateAccountAssignmentCommand(assignment(carolId)));
  });

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

  it('finds the user by email and assigns the permission set on the account', async () => {
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));

    expect(await assignedUsers()).toEqual([`USER:${aliceId}`, `USER:${carolId}`].sort());
    expect(outcome.memo).toEqual({ userId: aliceId, identityStoreId });
    expect(outcome.instructions).toContain(ACCOUNT);
    expect(outcome.instructions).toContain(PERMISSION_SET_ID);
    expect(proxy.calls()).toEqual(['ListInstances', 'GetUserId', 'ListAccountAssignments', 'CreateAccountAssignment']);
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(true);
  });

  it('uses identityStoreId from the target without listing instances', async () => {
    const ownStore = 'd-0123456789';
    const daveId = await createStoreUser(ownStore, 'dave', 'dave@example.com');
    const outcome = await newProvider().grant(
      spec(
        { ...target, identityStoreId: ownStore },
        { principal: { slackUserId: 'U0DAVE', identities: {}, email: 'dave@example.com' } },
      ),
    );
    expect(outcome.memo).toEqual({ userId: daveId, identityStoreId: ownStore });
    expect(proxy.count('ListInstances')).toBe(0);
    expect(await assignedUsers()).toContain(`USER:${daveId}`);
  });

  it('granting again leaves one assignment', async () => {
    const provider = newProvider();
    const first = await provider.grant(spec(target));
    await provider.grant(spec(target, { expiresAt: LATER, memo: first.memo }));
    await provider.grant(spec(target, { expiresAt: LATER }));
    expect(await assignedUsers()).toEqual([`USER:${aliceId}`, `USER:${carolId}`].sort());
    expect(proxy.count('CreateAccountAssignment')).toBe(1);
  });

  it('revoke deletes only our assignment with no lookup; twice and never-granted succeed', async () => {
    const provider = newProvider();
    const outcome = await provider.grant(spec(target));
    proxy.clear();

    await provider.revoke(spec(target, { memo: outcome.memo }));
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
    expect(proxy.count('GetUserId')).toBe(0);
    expect(proxy.count('ListInstances')).toBe(0);
    expect(proxy.count('DeleteAccountAssignment')).toBe(1);
    expect(await provider.verify(spec(target, { memo: outcome.memo }))).toBe(false);

    await expect(provider.revoke(spec(target, { memo: outcome.memo }))).resolves.toBeUndefined();
    // Cleanup after a grant that never ran: the user exists but holds nothing; a stranger is not in the store.
    await expect(provider.revoke(spec(target, { requestId: 'never999' }))).resolves.toBeUndefined();
    await expect(
      provider.revoke(spec(target, { principal: { slackUserId: 'U0X', identities: {}, email: 'x@example.com' } })),
    ).resolves.toBeUndefined();
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
  });

  it('refuses a person missing from the identity store, creating nothing', async () => {
    const error = await rejection(
      newProvider().grant(
        spec(target, { principal: { slackUserId: 'U0EVE', identities: {}, email: 'eve@example.com' } }),
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('No user with the email eve@example.com');
    expect(error.message).toContain(identityStoreId);
    expect(proxy.count('CreateAccountAssignment')).toBe(0);
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
  });

  it('refuses a person without an email, naming the principals entry to add', async () => {
    const error = await rejection(
      newProvider().grant(spec(target, { principal: { slackUserId: 'U0NOMAIL', identities: {} } })),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('U0NOMAIL');
    expect(error.message).toContain('`email: <their Identity Center email>`');
  });

  it('refuses an instance the bot cannot see', async () => {
    const error = await rejection(
      newProvider().grant(
        spec({
          ...target,
          instanceArn: 'arn:aws:sso:::instance/ssoins-aaaaaaaaaaaaaaaa',
          permissionSetArn: `arn:aws:sso:::permissionSet/ssoins-aaaaaaaaaaaaaaaa/${PERMISSION_SET_ID}`,
        }),
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('is not visible to the bot');
    expect(error.message).toContain('AWS_REGION');
  });

  it('waits on an assignment still in progress', async () => {
    proxy.rewrite('CreateAccountAssignment', 1, (body) => body.replace('"SUCCEEDED"', '"IN_PROGRESS"'));
    const outcome = await newProvider().grant(spec(target));
    expect(proxy.count('DescribeAccountAssignmentCreationStatus')).toBe(1);
    expect(outcome.memo?.userId).toBe(aliceId);
    expect(await assignedUsers()).toContain(`USER:${aliceId}`);
  });

  it('passes on AWS reason when the assignment fails, as not retryable', async () => {
    proxy.fail('CreateAccountAssignment', 1, jsonReply({ AccountAssignmentCreationStatus: inProgress('op-1') }));
    proxy.fail(
      'DescribeAccountAssignmentCreationStatus',
      1,
      jsonReply({
        AccountAssignmentCreationStatus: {
          ...inProgress('op-1'),
          Status: 'FAILED',
          FailureReason: 'Received a 403 status error: Access denied by IAM',
        },
      }),
    );
    const error = await rejection(newProvider().grant(spec(target)));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Received a 403 status error: Access denied by IAM');
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
  });

  it('gives up waiting with a retryable error', async () => {
    proxy.fail('CreateAccountAssignment', 1, jsonReply({ AccountAssignmentCreationStatus: inProgress('op-2') }));
    proxy.fail(
      'DescribeAccountAssignmentCreationStatus',
      10,
      jsonReply({ AccountAssignmentCreationStatus: inProgress('op-2') }),
    );
    const error = await rejection(newProvider().grant(spec(target)));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('still working');
    expect(proxy.count('DescribeAccountAssignmentCreationStatus')).toBe(4);
  });

  it('retries throttling and a conflicting operation in progress', async () => {
    const provider = newProvider();
    proxy.fail('GetUserId', 1, jsonError('ThrottlingException', 'Rate exceeded'));
    proxy.fail('CreateAccountAssignment', 2, jsonError('ThrottlingException', 'Rate exceeded'));
    const outcome = await provider.grant(spec(target));
    expect(proxy.count('CreateAccountAssignment')).toBe(3);
    expect(await assignedUsers()).toContain(`USER:${aliceId}`);

    proxy.fail('DeleteAccountAssignment', 1, jsonError('ConflictException', 'Another operation is in progress'));
    await provider.revoke(spec(target, { memo: outcome.memo }));
    expect(proxy.count('DeleteAccountAssignment')).toBe(2);
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
  });

  it('turns persistent 5xx into a retryable error and AccessDenied into a non-retryable one', async () => {
    proxy.fail('ListAccountAssignments', 10, jsonError('InternalServerException', 'oops', 500));
    const outage = await rejection(newProvider().grant(spec(target)));
    expect(outage.retryable).toBe(true);
    expect(outage.message).toContain('sso:ListAccountAssignments');
    expect(proxy.count('ListAccountAssignments')).toBe(4);

    proxy.clear();
    proxy.fail('CreateAccountAssignment', 1, jsonError('AccessDeniedException', 'not authorized', 403));
    const denied = await rejection(newProvider().grant(spec(target)));
    expect(denied.retryable).toBe(false);
    expect(denied.message).toContain('add sso:CreateAccountAssignment to the bot');
    expect(await assignedUsers()).toEqual([`USER:${carolId}`]);
  });
});

function inProgress(operationId: string) {
  return {
    Status: 'IN_PROGRESS',
    RequestId: operationId,
    TargetId: ACCOUNT,
    TargetType: 'AWS_ACCOUNT',
    PrincipalType: 'USER',
  };
}

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

describe('awsTargetSchema', () => {
  const INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
  const PERMISSION_SET = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef';

  /** Every problem as `path: message`, the way the policy loader shows them. */
  function problems(target: unknown): string[] {
    const result = awsTargetSchema.safeParse(target);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  }

  it('accepts a valid target of each kind', () => {
    expect(problems({ kind: 'iam-policy', statements: READ_LOGS })).toEqual([]);
    expect(problems({ kind: 'assume-role', roleArn: 'arn:aws:iam::123456789012:role/ReadOnly' })).toEqual([]);
    expect(problems({ kind: 'assume-role', roleArn: 'arn:aws-us-gov:iam::123456789012:role/a/b/Ops' })).toEqual([]);
    expect(
      problems({
        kind: 'identity-center',
        instanceArn: INSTANCE,
        accountId: '012345678901',
        permissionSetArn: PERMISSION_SET,
        identityStoreId: 'd-906712ab34',
      }),
    ).toEqual([]);
  });

  it('names the kinds it knows', () => {
    expect(problems({ kind: 'iam-role' })).toEqual([
      'kind: kind must be one of iam-policy, assume-role, identity-center; got "iam-role"',
    ]);
    expect(problems({ roleArn: ROLE_ARN })).toEqual([
      'kind: kind must be one of iam-policy, assume-role, identity-center; got no kind',
    ]);
  });

  it('says what is wrong with a role ARN', () => {
    expect(problems({ kind: 'assume-role', roleArn: 'arn:aws:iam::12345:role/Admin' })).toEqual([
      expect.stringMatching(
        /^roleArn: the account ID in roleArn must be 12 digits, got "12345"; expected e\.g\. arn:aws:iam::123456789012:role\/ReadOnly/,
      ),
    ]);
    expect(problems({ kind: 'assume-role', roleArn: 'arn:aws:iam::123456789012:user/alice' })).toEqual([
      expect.stringMatching(/^roleArn: roleArn must name a role \("role\/<name>"\), got "user\/alice"/),
    ]);
    expect(problems({ kind: 'assume-role', roleArn: 'Admin' })).toEqual([
      expect.stringMatching(
        /^roleArn: must be an IAM role ARN such as arn:aws:iam::123456789012:role\/ReadOnly .*got "Admin"$/,
      ),
    ]);
    expect(problems({ kind: 'assume-role', roleArn: ROLE_ARN, duration: '1h' })).toEqual([
      ': unknown key "duration": an assume-role target takes kind and roleArn',
    ]);
  });

  it('says what is wrong with Identity Center fields', () => {
    expect(
      problems({
        kind: 'identity-center',
        instanceArn: 'arn:aws:sso:::instance/ssoins-123',
        accountId: '1234567890',
        permissionSetArn: 'ps-1234567890abcdef',
        identityStoreId: 'store-1',
      }),
    ).toEqual([
      'instanceArn: must be an IAM Identity Center instance ARN such as arn:aws:sso:::instance/ssoins-1234567890abcdef (Identity Center console → Settings); got "arn:aws:sso:::instance/ssoins-123"',
      'accountId: must be the 12-digit AWS account ID, e.g. "123456789012"; got "1234567890"',
      'permissionSetArn: must be a permission set ARN such as arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef; got "ps-1234567890abcdef"',
      'identityStoreId: must be an identity store ID such as d-906712ab34 (Identity Center console → Settings → Identity source); got "store-1"',
    ]);
    expect(
      problems({
        kind: 'identity-center',
        instanceArn: INSTANCE,
        accountId: 123456789012,
        permissionSetArn: PERMISSION_SET,
      }),
    ).toEqual([
      'accountId: must be the 12-digit AWS account ID in quotes, e.g. accountId: "123456789012" (unquoted, YAML reads a number and drops leading zeros)',
    ]);
    expect(
      problems({
        kind: 'identity-center',
        instanceArn: INSTANCE,
        accountId: '123456789012',
        permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-ffffffffffffffff/ps-1234567890abcdef',
      }),
    ).toEqual([
      'permissionSetArn: the permission set belongs to instance ssoins-ffffffffffffffff, not to ssoins-1234567890abcdef named in instanceArn',
    ]);
  });

  it('says what is wrong with statements', () => {
    expect(problems({ kind: 'iam-policy', statements: [] })).toEqual([
      'statements: statements must list at least one IAM statement',
    ]);
    expect(
      problems({
        kind: 'iam-policy',
        statements: [
          { Effect: 'Allow', Action: 's3', Resource: 'bucket', Principal: '*' },
          { Effect: 'allow', Resource: '*' },
          {
            Effect: 'Deny',
            NotAction: 'iam:*',
            Resource: '*',
            Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
          },
        ],
      }),
    ).toEqual([
      'statements.0.Action: each action must be "service:Action" (wildcards allowed) or "*", e.g. "s3:GetObject" or "logs:Describe*"; got "s3"',
      'statements.0.Resource: each resource must be "*" or an ARN such as "arn:aws:s3:::my-bucket/*"; got "bucket"',
      'statements.0: unknown key "Principal": a statement of a user policy takes Sid, Effect, Action or NotAction, Resource or NotResource, and Condition (Principal belongs only in resource and trust policies)',
      'statements.1.Effect: Effect must be "Allow" or "Deny"',
      "statements.2.Condition.DateLessThan.aws:CurrentTime: remove DateLessThan aws:CurrentTime: the bot sets it to each grant's expiry",
    ]);
    expect(problems({ kind: 'iam-policy', statements: [{ Effect: 'Allow', Resource: '*' }] })).toEqual([
      'statements.0: a statement needs exactly one of Action or NotAction',
    ]);
  });

  it('refuses statements too large for a managed policy, giving the size', () => {
    const statements = Array.from({ length: 60 }, (_, index) => bucketStatement(index));
    const [problem] = problems({ kind: 'iam-policy', statements });
    expect(problem).toMatch(
      /^statements: the policy document would be \d{4} characters with the expiry condition the bot adds, over AWS's limit of 6144 for a managed policy/,
    );
  });
});
