import { CreateUserCommand as CreateStoreUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  ListAccountAssignmentsCommand,
  ListInstancesCommand,
  SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import type { AccessRequest } from '../../src/domain/access-request';
import { overrideEnv } from '../support/env-override';
import { eventuallyValue } from '../support/eventually';
import { type MotoServer, startMotoServer } from '../support/moto-server';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const ACCOUNT = '111122223333';
const PERMISSION_SET_ID = 'ps-0123456789abcdef';

/**
 * Through Slack, the real container (Redis checkpoints, the grant lifecycle's re-assertion of overlapping grants)
 * and the real Identity Center SDK against moto: an assignment the person held before is never removed, and
 * overlapping grants keep access until the last one ends.
 */
describe('AWS Identity Center end to end', () => {
  let moto: MotoServer;
  let bot: TestBot;
  let restoreEnv: () => void;
  let ssoAdmin: SSOAdminClient;
  let identityStore: IdentitystoreClient;
  let instanceArn: string;
  let permissionSetArn: string;
  let aliceId: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    restoreEnv = overrideEnv({
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_SSO_ADMIN: moto.url,
      AWS_ENDPOINT_URL_IDENTITYSTORE: moto.url,
    });
    const direct = { region: 'us-east-1', endpoint: moto.url, maxAttempts: 1 };
    ssoAdmin = new SSOAdminClient(direct);
    identityStore = new IdentitystoreClient(direct);
    const instance = (await ssoAdmin.send(new ListInstancesCommand({}))).Instances?.[0];
    instanceArn = instance?.InstanceArn ?? '';
    permissionSetArn = `arn:aws:sso:::permissionSet/${instanceArn.slice(instanceArn.lastIndexOf('/') + 1)}/${PERMISSION_SET_ID}`;
    // Nobody maps U0ALICE in the policy: the bot finds her by her Slack profile email.
    const created = await identityStore.send(
      new CreateStoreUserCommand({
        IdentityStoreId: instance?.IdentityStoreId ?? '',
        UserName: 'alice',
        DisplayName: 'alice',
        Name: { GivenName: 'alice', FamilyName: 'Example' },
        Emails: [{ Value: 'u0alice@example.com', Primary: true }],
      }),
    );
    aliceId = created.UserId ?? '';
    bot = await startTestBot({
      usergroups: USERGROUPS,
      policyYaml: `
settings:
  minDuration: 1s
  propagation:
    aws: 0s
roles:
  - id: prod-admin-sso
    description: AdministratorAccess on the production account through the access portal
    provider: aws
    target:
      kind: identity-center
      instanceArn: ${instanceArn}
      accountId: "${ACCOUNT}"
      permissionSetArn: ${permissionSetArn}
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`,
    });
  }, 30_000);

  afterAll(async () => {
    await bot?.stop();
    for (const client of [ssoAdmin, identityStore]) client?.destroy();
    await moto?.stop();
    restoreEnv?.();
  });

  /** Alice's own assignment of the role's permission set, as an administrator would make it in the console. */
  function aliceAssignment() {
    return {
      InstanceArn: instanceArn,
      TargetId: ACCOUNT,
      TargetType: 'AWS_ACCOUNT' as const,
      PermissionSetArn: permissionSetArn,
      PrincipalType: 'USER' as const,
      PrincipalId: aliceId,
    };
  }

  async function aliceAssignments(): Promise<number> {
    const answer = await ssoAdmin.send(
      new ListAccountAssignmentsCommand({
        InstanceArn: instanceArn,
        AccountId: ACCOUNT,
        PermissionSetArn: permissionSetArn,
      }),
    );
    return (answer.AccountAssignments ?? []).filter(
      (each) => each.PrincipalType === 'USER' && each.PrincipalId === aliceId,
    ).length;
  }

  /** Waits until the revocation check of the request has run (it reads the cloud back once the change propagated). */
  function revocationChecked(request: AccessRequest): Promise<Record<string, unknown>> {
    return eventuallyValue(
      () =>
        bot.logs.find(
          (entry) =>
            entry.requestId === request.id &&
            (entry.msg === 'revocation verified in the cloud' ||
              entry.msg === 'access was still there after revocation; revoked again and alerted'),
        ),
      `the revocation of ${request.id} was checked in the cloud`,
    );
  }

  it('a standing assignment survives a grant of the same permission set, and no alarm is raised', async () => {
    await ssoAdmin.send(new CreateAccountAssignmentCommand(aliceAssignment()));
    try {
      const granted = await bot.requestApproved('U0ALICE', 'prod-admin-sso 2s INC-9 look at the console', 'U0LEAD');
      expect(granted.grant?.memo?.alreadyHeld).toBe('true');
      await bot.waitForExpiry(granted);
      const checked = await revocationChecked(granted);
      expect(await aliceAssignments()).toBe(1);
      expect(checked.msg).toBe('revocation verified in the cloud');
      expect(await bot.container.auditLog.notes({ requestId: granted.id, kind: 'alert' })).toEqual([]);
    } finally {
      await ssoAdmin.send(new DeleteAccountAssignmentCommand(aliceAssignment()));
    }
  });

  it('overlapping grants: access lasts until the last one ends, then the bot removes what it made', async () => {
    const short = await bot.requestApproved('U0ALICE', 'prod-admin-sso 2s short task', 'U0LEAD');
    const long = await bot.requestApproved('U0ALICE', 'prod-admin-sso 1h long task', 'U0LEAD');
    expect(short.grant?.memo?.alreadyHeld).toBeUndefined();
    expect(long.grant?.memo?.alreadyHeld).toBe('true');
    expect(await aliceAssignments()).toBe(1);

    await bot.waitForExpiry(short);
    expect(await aliceAssignments()).toBe(1);
    const longNow = await bot.container.store.get(long.id);
    expect(longNow?.state).toBe('active');
    expect(longNow?.grant?.memo?.alreadyHeld).toBeUndefined();

    await bot.commandText('U0ALICE', `revoke ${long.id}`);
    await bot.waitForState(long.id, 'revoked');
    expect(await aliceAssignments()).toBe(0);
  });
});
