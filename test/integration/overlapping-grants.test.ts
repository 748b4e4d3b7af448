import { azureProviderFor, FakeAzure, READER_ROLE } from '../support/fake-azure-arm';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const SCOPE = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/payments';
const ALICE = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

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
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`;

/**
 * Two grants of one role to one person share Azure's one role assignment per principal, role and scope: the
 * first to end must not take the second's access with it.
 */
describe('overlapping grants', () => {
  let fake: FakeAzure;
  let bot: TestBot;

  beforeAll(async () => {
    fake = await FakeAzure.start();
    fake.addUser({ id: ALICE, mail: 'u0alice@example.com' });
    const provider = azureProviderFor(fake);
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS, providers: [provider] });
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
  });

  const aliceAssignments = () => fake.roleAssignments().filter((assignment) => assignment.principalId === ALICE);

  it('access lasts until the last one ends', async () => {
    const short = await bot.requestApproved('U0ALICE', 'payments-reader 3s short task', 'U0LEAD');
    const long = await bot.requestApproved('U0ALICE', 'payments-reader 1h long task', 'U0LEAD');
    expect(aliceAssignments()).toHaveLength(1);
    expect(long.grant?.memo?.alreadyHeld).toBe('true');

    await bot.waitForExpiry(short);
    expect(aliceAssignments()).toHaveLength(1);
    const longNow = await bot.container.store.get(long.id);
    expect(longNow?.state).toBe('active');
    expect(longNow?.grant?.memo?.alreadyHeld).toBeUndefined();
    const audit = await bot.container.auditLog.read({ requestId: long.id });
    expect(audit.at(-1)?.reason).toBe(`access re-asserted after the overlapping request ${short.id} ended`);

    await bot.commandText('U0ALICE', `revoke ${long.id}`);
    await bot.waitForState(long.id, 'revoked');
    expect(aliceAssignments()).toEqual([]);
  });
});
