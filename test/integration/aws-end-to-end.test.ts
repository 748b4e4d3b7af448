import {
  CreateUserCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
} from '@aws-sdk/client-iam';
import { overrideEnv } from '../support/env-override';
import { type MotoServer, startMotoServer } from '../support/moto-server';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

const POLICY = `
settings:
  minDuration: 1s
roles:
  - id: aws-logs-reader
    description: Read CloudWatch logs in the sandbox account
    provider: aws
    target:
      kind: iam-policy
      statements:
        - Effect: Allow
          Action: ["logs:Get*", "logs:Describe*"]
          Resource: "*"
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`;

/** Through Slack to a real AWS SDK talking to the IAM emulator: the grant appears with its expiry, then goes. */
describe('AWS end to end', () => {
  let moto: MotoServer;
  let bot: TestBot;
  let iam: IAMClient;
  let restoreEnv: () => void;

  beforeAll(async () => {
    moto = await startMotoServer();
    restoreEnv = overrideEnv({ ...AWS_ENV, AWS_ENDPOINT_URL_IAM: moto.url });
    iam = new IAMClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    // Nobody maps U0ALICE in the policy: the bot names her by her Slack profile email (users.info).
    await iam.send(new CreateUserCommand({ UserName: 'u0alice@example.com' }));
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });

  afterAll(async () => {
    await bot?.stop();
    await moto?.stop();
    restoreEnv?.();
  });

  it('request → approve → managed policy with its own expiry → expiry → policy gone → notices', async () => {
    const active = await bot.requestApproved('U0ALICE', 'aws-logs-reader 3s INC-7 read the logs', 'U0LEAD');
    const { id } = active;
    expect(bot.slack.calls('users.info').map((call) => call.args.user)).toContain('U0ALICE');

    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'u0alice@example.com' }));
    const [policy] = attached.AttachedPolicies ?? [];
    expect(policy?.PolicyName).toBe(`jit-${id}`);
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: policy?.PolicyArn }));
    const stored = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policy?.PolicyArn, VersionId: Policy?.DefaultVersionId }),
    );
    const document = JSON.parse(decodeURIComponent(stored.PolicyVersion?.Document ?? '')) as {
      Statement: { Action: string[]; Condition: { DateLessThan: { 'aws:CurrentTime': string } } }[];
    };
    const expiry = new Date(Math.floor((active.expiresAt ?? 0) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    expect(document.Statement).toHaveLength(1);
    expect(document.Statement[0]?.Action).toEqual(['logs:Get*', 'logs:Describe*']);
    expect(document.Statement[0]?.Condition.DateLessThan['aws:CurrentTime']).toBe(expiry);

    await bot.waitForExpiry(active);
    const left = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'u0alice@example.com' }));
    expect(left.AttachedPolicies ?? []).toEqual([]);
    expect((await iam.send(new ListPoliciesCommand({ Scope: 'Local' }))).Policies ?? []).toEqual([]);
  });

  it('fails the request with an actionable message when the person has no IAM user, granting nothing', async () => {
    const failed = await bot.requestApprovedButFailed('U0BOB', 'aws-logs-reader 1m no user', 'U0LEAD');
    expect(failed.failureReason).toContain('u0bob@example.com');
    await bot.waitForDm('U0BOB', 'granting failed');
  });
});
