import { type FakeGcpCrm, startFakeGcpWithAdc } from '../support/fake-gcp-crm';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { USERGROUPS } from './test-policy';

const PROJECT = 'projects/identity-test';
const ROLE = 'roles/cloudsql.viewer';

const policy = (identity: 'email' | 'principals', principals = '') => `
settings:
  minDuration: 1s
  identity: ${identity}
roles:
  - id: sql-viewer
    description: View Cloud SQL in identity-test
    provider: gcp
    target:
      resource: ${PROJECT}
      role: ${ROLE}
    maxDuration: 1h
    approvalChannel: ${APPROVAL_CHANNEL}
    approvers:
      users: [U0LEAD]
${principals}`;

/** Which email may name a person in a cloud, through Slack to the real Resource Manager client and a local CRM. */
describe('Slack email as cloud identity', () => {
  let fake: FakeGcpCrm;
  let restoreGcp: () => void;
  let bot: TestBot | undefined;

  beforeAll(async () => {
    ({ fake, restore: restoreGcp } = await startFakeGcpWithAdc());
  });
  beforeEach(() => {
    fake.seed(PROJECT, [{ role: 'roles/owner', members: ['user:platform@example.com'] }]);
  });
  afterEach(async () => {
    await bot?.stop();
    bot = undefined;
  });
  afterAll(async () => {
    await fake?.close();
    restoreGcp?.();
  });

  const start = async (policyYaml: string) => {
    bot = await startTestBot({
      policyYaml,
      usergroups: USERGROUPS,
      env: { GCP_RESOURCE_MANAGER_ENDPOINT: fake.endpoint },
    });
    return bot;
  };
  const jitBindings = () => fake.policy(PROJECT).bindings.filter((binding) => binding.condition !== undefined);

  it('an email Slack has not confirmed names nobody: the grant is refused, the requester told what to add', async () => {
    const running = await start(policy('email'));
    running.slack.setUser('U0ALICE', { is_email_confirmed: false });

    const failed = await running.requestApprovedButFailed('U0ALICE', 'sql-viewer 1h INC-1 slow queries', 'U0LEAD');

    expect(failed.failureReason).toContain('Slack has not confirmed the email');
    expect(failed.failureReason).toContain('principals.U0ALICE');
    expect(jitBindings()).toEqual([]);
    const dm = await running.waitForDm('U0ALICE', 'has not confirmed');
    expect(String(dm.args.text)).toContain('principals.U0ALICE');
    const logged = running.logs.find((line) => line.msg === 'grant failed; request marked failed');
    expect(logged).toMatchObject({ requestId: failed.id, permanent: true });
  });

  it('an unconfirmed Slack email is not needed when the principals map names the person', async () => {
    const running = await start(policy('email', 'principals:\n  U0ALICE:\n    email: alice@corp.example.com\n'));
    running.slack.setUser('U0ALICE', { is_email_confirmed: false });

    const active = await running.requestApproved('U0ALICE', 'sql-viewer 1h INC-2 slow queries', 'U0LEAD');

    expect(active.state).toBe('active');
    expect(jitBindings().map((binding) => binding.members)).toEqual([['user:alice@corp.example.com']]);
  });

  it('with identity: principals, a confirmed Slack email is not used either', async () => {
    const running = await start(policy('principals', 'principals:\n  U0BOB:\n    gcp: user:bob@corp.example.com\n'));

    const refused = await running.requestApprovedButFailed('U0ALICE', 'sql-viewer 1h INC-3 slow queries', 'U0LEAD');
    expect(refused.failureReason).toContain('settings.identity: principals');
    expect(refused.failureReason).toContain('principals.U0ALICE');
    expect(jitBindings()).toEqual([]);

    const granted = await running.requestApproved('U0BOB', 'sql-viewer 1h INC-4 slow queries', 'U0LEAD');
    expect(granted.state).toBe('active');
    expect(jitBindings().map((binding) => binding.members)).toEqual([['user:bob@corp.example.com']]);
  });
});
