import { type FakeGcpCrm, startFakeGcpWithAdc } from '../support/fake-gcp-crm';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const PROJECT = 'projects/payments-prod';
const ROLE = 'roles/cloudsql.viewer';

const POLICY = `
settings:
  minDuration: 1s
roles:
  - id: payments-sql-viewer
    description: View Cloud SQL in payments-prod
    provider: gcp
    target:
      resource: ${PROJECT}
      role: ${ROLE}
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
`;

/** Through Slack to the real Resource Manager client with Application Default Credentials, against a local CRM. */
describe('GCP end to end', () => {
  let fake: FakeGcpCrm;
  let bot: TestBot;
  let restoreGcp: () => void;

  beforeAll(async () => {
    ({ fake, restore: restoreGcp } = await startFakeGcpWithAdc());
    fake.seed(PROJECT, [{ role: 'roles/owner', members: ['user:platform@example.com'] }]);
    bot = await startTestBot({
      policyYaml: POLICY,
      usergroups: USERGROUPS,
      env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint },
    });
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
    restoreGcp?.();
  });

  it('request → approve → conditional binding that expires by itself → expiry → binding gone → notices', async () => {
    const active = await bot.requestApproved('U0ALICE', 'payments-sql-viewer 3s INC-11 look at slow queries', 'U0LEAD');
    const { id } = active;

    const policy = fake.policy(PROJECT);
    expect(policy.version).toBe(3);
    const expiry = new Date(active.expiresAt ?? 0).toISOString();
    expect(policy.bindings).toEqual([
      { role: 'roles/owner', members: ['user:platform@example.com'] },
      {
        role: ROLE,
        members: ['user:u0alice@example.com'],
        condition: expect.objectContaining({
          title: `jit-${id}`,
          expression: expect.stringContaining(`request.time < timestamp("${expiry.slice(0, 19)}`),
        }),
      },
    ]);

    await bot.waitForExpiry(active);
    expect(fake.policy(PROJECT).bindings).toEqual([{ role: 'roles/owner', members: ['user:platform@example.com'] }]);
  });
});
