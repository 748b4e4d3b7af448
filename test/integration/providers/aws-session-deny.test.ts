import {
  CreateRoleCommand,
  CreateUserCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListPoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { Clock, GrantSpec, RoleTargetRef } from '../../../src/domain/ports';
import { createLogger } from '../../../src/lib/logger';
import { AwsProvider } from '../../../src/providers/aws/aws-provider';
import { type AwsTestEnv, rejectionOf, startAwsTestEnv } from '../../support/aws-test-env';
import { type FaultProxy, type MotoServer, queryError } from '../../support/moto-server';
import { testPacing } from '../../support/pacing';

/** moto's account: the bot can write only roles of its own account. */
const MOTO_ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/ops/Deployer`;
const DEPLOYER: RoleTargetRef = { roleId: 'deployer', target: { kind: 'assume-role', roleArn: ROLE_ARN } };
/** The role's MaxSessionDuration: 2 hours. */
const MAX_SESSION_SECONDS = 7_200;
const EXPIRES_AT = Date.UTC(2031, 0, 2, 12, 0, 0);
/** Revoked early at 11:00: sessions may have started until then and last 2 h, plus 5 min of propagation → 14:00. */
const REVOKED_AT = Date.UTC(2031, 0, 2, 11, 0, 0);
const DENIED_UNTIL = '2031-01-02T14:00:00Z';

let aws: AwsTestEnv;
let moto: MotoServer;
let proxy: FaultProxy;
let iam: IAMClient;
let logLines: string[] = [];

beforeAll(async () => {
  aws = await startAwsTestEnv();
  ({ moto, proxy, iam } = aws);
}, 30_000);

afterAll(async () => {
  await aws?.stop();
});

beforeEach(async () => {
  await moto.reset();
  proxy.clear();
  logLines = [];
  await iam.send(new CreateUserCommand({ UserName: 'alice' }));
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'Deployer',
      Path: '/ops/',
      MaxSessionDuration: MAX_SESSION_SECONDS,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
});

/** A clock the test sets. */
function clockAt(time: number): Clock & { set(next: number): void } {
  let now = time;
  return { now: () => now, set: (next) => (now = next) };
}

/** A provider through the fault proxy, logging into `logLines`, with quick retries. */
function newProvider(clock: Clock): AwsProvider {
  const clients = aws.proxiedClients();
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => logLines.push(line) } });
  return new AwsProvider({ logger, clients, clock, retry: { attempts: 4, baseMs: 1, capMs: 5 }, pacing: testPacing() });
}

function spec(overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: 'k7m2xq9d',
    roleId: DEPLOYER.roleId,
    target: DEPLOYER.target,
    principal: { slackUserId: 'U0ALICE', identities: { aws: 'alice' } },
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

async function rolePolicyNames(): Promise<string[]> {
  return ((await iam.send(new ListRolePoliciesCommand({ RoleName: 'Deployer' }))).PolicyNames ?? []).sort();
}

/** The role's deny policy as AWS stores it. */
async function denyPolicy(): Promise<{ Statement: { Sid: string; Condition: Record<string, unknown> }[] }> {
  const answer = await iam.send(new GetRolePolicyCommand({ RoleName: 'Deployer', PolicyName: 'jit-revoked-sessions' }));
  return JSON.parse(decodeURIComponent(answer.PolicyDocument ?? ''));
}

/** Each deny statement as [its session patterns, its end]. */
async function denied(): Promise<[string[], unknown][]> {
  return (await denyPolicy()).Statement.map((statement) => [
    (statement.Condition.StringLike as Record<string, string[]>)['aws:userid'] ?? [],
    (statement.Condition.DateLessThan as Record<string, string>)['aws:CurrentTime'],
  ]);
}

async function bootPolicies(): Promise<string[]> {
  const answer = await iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/jit/' }));
  return (answer.Policies ?? []).map((policy) => policy.PolicyName ?? '').sort();
}

/** The log lines at `level` ("error", "warn"...), parsed. */
function logged(level: string): { msg: string; missing?: string }[] {
  return logLines.map((line) => JSON.parse(line)).filter((entry) => entry.level === level);
}

describe('assume-role grants require their own session name', () => {
  it('allows sts:AssumeRole only as jit-<requestId>, and the DM names that session', async () => {
    const outcome = await newProvider(clockAt(REVOKED_AT)).grant(spec());
    const arn = `arn:aws:iam::${MOTO_ACCOUNT}:policy/jit/jit-k7m2xq9d`;
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    const document = JSON.parse(decodeURIComponent(version.PolicyVersion?.Document ?? ''));
    expect(document.Statement).toEqual([
      {
        Sid: 'JitAssumeRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: ROLE_ARN,
        Condition: {
          StringEquals: { 'sts:RoleSessionName': 'jit-k7m2xq9d' },
          DateLessThan: { 'aws:CurrentTime': '2031-01-02T12:00:00Z' },
        },
      },
    ]);
    expect(outcome.instructions).toContain('--role-session-name jit-k7m2xq9d');
    expect(outcome.instructions).toContain("The console's Switch Role cannot name the session");
  });
});

describe('revoking an assume-role grant denies its live session on the role', () => {
  it('denies jit-<requestId> on the role until revocation + MaxSessionDuration, after removing the grant', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    const outcome = await provider.grant(spec());
    await provider.revoke(spec({ memo: outcome.memo }));

    expect(await bootPolicies()).toEqual([]);
    expect(await rolePolicyNames()).toEqual(['jit-revoked-sessions']);
    expect(await denyPolicy()).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'JitRevokedUntil20310102T140000Z',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            StringLike: { 'aws:userid': ['*:jit-k7m2xq9d'] },
            DateLessThan: { 'aws:CurrentTime': DENIED_UNTIL },
          },
        },
      ],
    });
    // The grant's policy went first: DeletePolicy comes before the deny is written.
    const calls = proxy.calls();
    expect(calls.indexOf('DeletePolicy')).toBeLessThan(calls.indexOf('PutRolePolicy'));

    // A second revocation of the same request (a retried job) changes nothing.
    proxy.clear();
    await provider.revoke(spec({ memo: outcome.memo }));
    expect(proxy.count('PutRolePolicy')).toBe(0);
    expect(await denied()).toEqual([[['*:jit-k7m2xq9d'], DENIED_UNTIL]]);
  });

  it('a revocation at expiry counts from the expiry, not from a late job', async () => {
    const provider = newProvider(clockAt(EXPIRES_AT + 30 * 60_000));
    await provider.revoke(spec());
    // Sessions could start until 12:00 (the grant's own condition): 12:00 + 2 h + 5 min → 15:00.
    expect(await denied()).toEqual([[['*:jit-k7m2xq9d'], '2031-01-02T15:00:00Z']]);
  });

  it('a second revocation on the same role keeps the first; sessions ending in the same hour share a statement', async () => {
    const clock = clockAt(REVOKED_AT);
    const provider = newProvider(clock);
    await provider.revoke(spec());
    clock.set(REVOKED_AT + 20 * 60_000);
    await provider.revoke(spec({ requestId: 'p4x8w2na' }));
    clock.set(REVOKED_AT + 90 * 60_000);
    await provider.revoke(spec({ requestId: 'b9c3d4e5', expiresAt: Date.UTC(2031, 0, 2, 18, 0, 0) }));

    expect(await rolePolicyNames()).toEqual(['jit-revoked-sessions']);
    expect(await denied()).toEqual([
      [['*:jit-k7m2xq9d', '*:jit-p4x8w2na'], DENIED_UNTIL],
      [['*:jit-b9c3d4e5'], '2031-01-02T15:00:00Z'],
    ]);
  });

  it('a hundred concurrent revocations on one role all land in one policy within the role quota', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    const ids = Array.from({ length: 100 }, (_, index) => `many${String(index).padStart(4, '0')}`);
    await Promise.all(ids.map((requestId) => provider.revoke(spec({ requestId }))));
    const [[sessions = [], until] = [[], undefined]] = await denied();
    expect(sessions).toEqual(ids.map((id) => `*:jit-${id}`));
    expect(until).toBe(DENIED_UNTIL);
    const size = JSON.stringify(await denyPolicy()).replace(/\s/g, '').length;
    expect(size).toBeLessThan(2_000);
  });

  it('keeps the role’s own inline policies', async () => {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'Deployer',
        PolicyName: 'deploy',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: '*' }],
        }),
      }),
    );
    await newProvider(clockAt(REVOKED_AT)).revoke(spec());
    expect(await rolePolicyNames()).toEqual(['deploy', 'jit-revoked-sessions']);
  });
});

describe('the sweep removes ended denies', () => {
  it('prunes denies that have ended and deletes the policy once empty, touching nothing else', async () => {
    const clock = clockAt(REVOKED_AT);
    const provider = newProvider(clock);
    await provider.revoke(spec());
    clock.set(REVOKED_AT + 90 * 60_000);
    await provider.revoke(spec({ requestId: 'b9c3d4e5', expiresAt: Date.UTC(2031, 0, 2, 18, 0, 0) }));
    // Someone's own policy whose name starts like the bot's but is not `jit-revoked-*`: never pruned.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'Deployer',
        PolicyName: 'jit-notes',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Action: '*',
              Resource: '*',
              Condition: { DateLessThan: { 'aws:CurrentTime': '2031-01-01T00:00:00Z' } },
            },
          ],
        }),
      }),
    );

    clock.set(Date.UTC(2031, 0, 2, 14, 0, 0));
    expect(await provider.findGrants([DEPLOYER])).toEqual([]);
    expect(await denied()).toEqual([[['*:jit-b9c3d4e5'], '2031-01-02T15:00:00Z']]);

    clock.set(Date.UTC(2031, 0, 2, 15, 0, 0));
    await provider.findGrants([DEPLOYER]);
    expect(await rolePolicyNames()).toEqual(['jit-notes']);
    expect(proxy.count('DeleteRolePolicy')).toBe(1);
  });

  it('a role the sweep cannot read is logged and the sweep still returns the grants', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    await provider.grant(spec());
    proxy.fail('ListRolePolicies', 1, queryError('AccessDenied', 'not authorized', 403));
    const found = await provider.findGrants([DEPLOYER]);
    expect(found.map((grant) => grant.requestId)).toEqual(['k7m2xq9d']);
    expect(logged('warn').map((entry) => entry.msg)).toContainEqual(
      expect.stringContaining('add iam:ListRolePolicies'),
    );
  });
});

describe('when the deny cannot be written, the grant is still revoked and the operators told', () => {
  it('AccessDenied on PutRolePolicy: the grant policy is gone, the error names the permission', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    const outcome = await provider.grant(spec());
    proxy.fail(
      'PutRolePolicy',
      1,
      queryError('AccessDenied', 'User: bot is not authorized to perform iam:PutRolePolicy', 403),
    );

    await expect(provider.revoke(spec({ memo: outcome.memo }))).resolves.toBeUndefined();
    expect(await bootPolicies()).toEqual([]);
    expect(await rolePolicyNames()).toEqual([]);
    const [error] = logged('error');
    expect(error?.missing).toBe('iam:PutRolePolicy');
    expect(error?.msg).toContain(`may not call iam:PutRolePolicy on ${ROLE_ARN}`);
    expect(error?.msg).toContain('session jit-k7m2xq9d');
    expect(error?.msg).toContain('2031-01-02T14:00:00.000Z');
  });

  it('a role that no longer exists: revoked, and a warning says why nothing was denied', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    const outcome = await provider.grant(spec({ target: { kind: 'assume-role', roleArn: `${ROLE_ARN}Gone` } }));
    await expect(
      provider.revoke(spec({ target: { kind: 'assume-role', roleArn: `${ROLE_ARN}Gone` }, memo: outcome.memo })),
    ).resolves.toBeUndefined();
    expect(await bootPolicies()).toEqual([]);
    expect(proxy.count('PutRolePolicy')).toBe(0);
    expect(logged('warn').map((entry) => entry.msg)).toContainEqual(
      expect.stringContaining('No role named DeployerGone'),
    );
  });

  it('a role of another account with the same name is never written', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    await provider.revoke(
      spec({ target: { kind: 'assume-role', roleArn: 'arn:aws:iam::111122223333:role/ops/Deployer' } }),
    );
    expect(await rolePolicyNames()).toEqual([]);
    expect(logged('warn').map((entry) => entry.msg)).toContainEqual(
      expect.stringContaining('not arn:aws:iam::111122223333'),
    );
  });

  it("the role's inline policies full (LimitExceeded): revoked, and the error says what to do", async () => {
    // The role's own policy leaves less room than one deny statement takes (~180 characters).
    const resources: string[] = [];
    const bulky = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resources }],
    };
    while (JSON.stringify(bulky).length < 10_120) resources.push(`arn:aws:s3:::bucket-${resources.length}/*`);
    expect(JSON.stringify(bulky).length).toBeLessThanOrEqual(10_240);
    await iam.send(
      new PutRolePolicyCommand({ RoleName: 'Deployer', PolicyName: 'bulky', PolicyDocument: JSON.stringify(bulky) }),
    );
    const provider = newProvider(clockAt(REVOKED_AT));
    const outcome = await provider.grant(spec());
    await expect(provider.revoke(spec({ memo: outcome.memo }))).resolves.toBeUndefined();
    expect(await bootPolicies()).toEqual([]);
    expect(await rolePolicyNames()).toEqual(['bulky']);
    const [error] = logged('error');
    expect(error?.msg).toContain("IAM's 10,240 characters per role");
    expect(error?.msg).toContain('MaxSessionDuration');
  });

  it('throttling that outlasts the retries fails the revocation retryably, and the retry writes the deny', async () => {
    const provider = newProvider(clockAt(REVOKED_AT));
    const outcome = await provider.grant(spec());
    proxy.fail('PutRolePolicy', 4, queryError('Throttling', 'Rate exceeded'));
    await expect(provider.revoke(spec({ memo: outcome.memo }))).rejects.toMatchObject({ retryable: true });
    expect(await bootPolicies()).toEqual([]);
    await provider.revoke(spec({ memo: outcome.memo }));
    expect(await denied()).toEqual([[['*:jit-k7m2xq9d'], DENIED_UNTIL]]);
  });
});

describe('the IAM emulator enforces the role inline policy quota AWS does and moto does not', () => {
  it("refuses an inline policy that takes a role's inline policies past 10,240 characters together", async () => {
    const put = (name: string, buckets: number) =>
      iam.send(
        new PutRolePolicyCommand({
          RoleName: 'Deployer',
          PolicyName: name,
          PolicyDocument: JSON.stringify(
            {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 's3:GetObject',
                  Resource: Array.from({ length: buckets }, (_, index) => `arn:aws:s3:::b-${name}-${index}/*`),
                },
              ],
            },
            null,
            2,
          ),
        }),
      );
    await put('first', 200);
    await put('first', 200);
    const refused = await rejectionOf(put('second', 200));
    expect(refused?.name).toBe('LimitExceededException');
    expect(refused?.$metadata?.httpStatusCode).toBe(409);
    expect(refused?.message).toBe('Maximum policy size of 10240 bytes exceeded for role Deployer');
    expect(await rolePolicyNames()).toEqual(['first']);
  });
});
