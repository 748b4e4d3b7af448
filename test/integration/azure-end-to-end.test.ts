import { azureProviderFor, FakeAzure, READER_ROLE } from '../support/fake-azure-arm';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const SCOPE = `/subscriptions/${SUBSCRIPTION}/resourceGroups/payments`;
const ALICE_OBJECT_ID = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

const POLICY = `
settings:
  minDuration: 1s
roles:
  - id: payments-reader
    description: Read the payments resource group
    provider: azure
    target:
      kind: role-assignment
      scope: ${SCOPE}
      roleDefinitionId: ${READER_ROLE}
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`;

/** Through Slack to the real Azure SDK talking to a local ARM, Graph and token endpoint over TLS. */
describe('Azure end to end', () => {
  let fake: FakeAzure;
  let bot: TestBot;

  beforeAll(async () => {
    fake = await FakeAzure.start();
    // Nobody maps U0ALICE in the policy: the bot finds her object ID in Graph by her Slack profile email.
    fake.addUser({ id: ALICE_OBJECT_ID, mail: 'u0alice@example.com' });
    const provider = azureProviderFor(fake);
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS, providers: [provider] });
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
  });

  it('request → approve → role assignment naming the request and expiry → expiry → assignment gone → notices', async () => {
    const active = await bot.requestApproved('U0ALICE', 'payments-reader 3s INC-9 check a refund', 'U0LEAD');
    const { id } = active;

    const assignments = fake.roleAssignments();
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toEqual(
      expect.objectContaining({
        scope: SCOPE,
        principalId: ALICE_OBJECT_ID,
        roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE}`,
      }),
    );
    expect(assignments[0]?.description).toContain(id);
    expect(assignments[0]?.description).toContain(new Date(active.expiresAt ?? 0).toISOString().slice(0, 19));

    await bot.waitForExpiry(active);
    expect(fake.roleAssignments()).toEqual([]);
  });

  it('fails with the fix when Graph does not know the person, granting nothing', async () => {
    const failed = await bot.requestApprovedButFailed('U0BOB', 'payments-reader 1m nobody knows bob', 'U0LEAD');
    expect(failed.failureReason).toContain('add azure: <their Entra object ID> under principals.U0BOB');
    await bot.waitForDm('U0BOB', 'granting failed');
    expect(fake.roleAssignments()).toEqual([]);
  });
});
