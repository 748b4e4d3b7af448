import type { AuditEntry } from '../../src/domain/audit-event';
import { bundlePartId } from '../../src/domain/bundle';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The integration policy plus a role with its own approver and channel, to bundle with sandbox-admin. */
const BUNDLE_POLICY = `${TEST_POLICY.trimEnd()}
  - id: db-reader
    description: Read the database
    provider: dryrun
    maxDuration: 2h
    approvalChannel: C0DBA
    approvers:
      users: [U0SEC]
`;

describe('bundles through the real Bolt app and the dry run', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: BUNDLE_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("grants two roles once each role's own approver approved, and revokes both at the one expiry", async () => {
    const reply = await bot.commandText('U0ALICE', 'request sandbox-admin,db-reader 3s debugging INC-42');
    const id = /Request `([^`]*)` for \*sandbox-admin,db-reader\* \(3s\) is filed/.exec(reply)?.[1] ?? '';
    expect(id).not.toBe('');

    const posted = await bot.approvalMessage(id);
    expect(posted.args.channel).toBe(APPROVAL_CHANNEL);
    const blocks = JSON.stringify(posted.args.blocks);
    expect(blocks).toContain('<@U0ALICE> asks for *sandbox-admin,db-reader* for *3s*');
    expect(blocks).toContain('Roles (granted together or not at all)');
    expect(blocks).toContain('approvers in <#C0DBA>');

    // U0LEAD approves sandbox-admin only: db-reader still waits for its own approver.
    expect((await bot.click('U0LEAD', 'approve', id)).status).toBe(200);
    await bot.handled();
    expect((await bot.container.store.get(id))?.state).toBe('pending');
    expect((await bot.click('U0SEC', 'approve', id)).status).toBe(200);

    const active = await bot.waitForState(id, 'active');
    expect(active.bundle).toEqual(['sandbox-admin', 'db-reader']);
    const grants = await bot.container.dryrun.grants();
    expect(grants.map((grant) => [grant.requestId, grant.roleId]).sort()).toEqual([
      [id, 'sandbox-admin'],
      [bundlePartId(id, 1), 'db-reader'],
    ]);
    expect(new Set(grants.map((grant) => grant.expiresAt)).size).toBe(1);

    await bot.waitForState(id, 'expired', 15_000);
    expect(await bot.container.dryrun.grants()).toEqual([]);
  });

  it('rolls back the granted role when another role of the bundle fails, and audits the rollback', async () => {
    const failed = await bot.requestApprovedButFailed('U0ALICE', 'sandbox-admin,broken 1h testing', 'U0LEAD');
    expect(failed.bundle).toEqual(['sandbox-admin', 'broken']);
    expect(await bot.container.dryrun.grants()).toEqual([]);
    const entries: AuditEntry[] = [];
    for await (const entry of bot.container.auditLog.entries()) {
      if (entry.requestId === failed.id && entry.type === 'rollback') entries.push(entry);
    }
    expect(entries.length).toBeGreaterThanOrEqual(1);
    expect(entries[0]?.reason).toContain('took back sandbox-admin');
  });

  it('the request form offers a multi-select of further roles, and files them as one bundle', async () => {
    await bot.command('U0ALICE', '');
    const opened = await bot.waitForModal(VIEW_IDS.request);
    const blocks = (
      opened.args.view as {
        blocks: { block_id?: string; optional?: boolean; element?: { type: string; action_id: string } }[];
      }
    ).blocks;
    const more = blocks.find((block) => block.block_id === INPUT_IDS.moreRoles);
    expect(more).toMatchObject({
      optional: true,
      element: { type: 'multi_static_select', action_id: ACTION_IDS.pickMoreRoles },
    });

    const answer = await bot.submitModal('U0ALICE', opened, {
      [INPUT_IDS.role]: {
        [ACTION_IDS.pickRole]: { type: 'static_select', selected_option: { value: 'sandbox-admin' } },
      },
      [INPUT_IDS.moreRoles]: {
        [ACTION_IDS.pickMoreRoles]: { type: 'multi_static_select', selected_options: [{ value: 'db-reader' }] },
      },
      [INPUT_IDS.duration]: { [INPUT_IDS.duration]: { type: 'static_select', selected_option: { value: '1h' } } },
      [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: 'debugging INC-42' } },
    });
    expect((answer.json as { response_action?: string }).response_action).toBe('update');
    const [filed] = await bot.container.requests.openRequests('U0ALICE');
    expect(filed).toMatchObject({ roleId: 'sandbox-admin', bundle: ['sandbox-admin', 'db-reader'], state: 'pending' });
  });

  it('the form refuses a bundle with a role the person may not request, naming it next to the menu', async () => {
    await bot.command('U0ALICE', '');
    const opened = await bot.waitForModal(VIEW_IDS.request);
    const answer = await bot.submitModal('U0ALICE', opened, {
      [INPUT_IDS.role]: {
        [ACTION_IDS.pickRole]: { type: 'static_select', selected_option: { value: 'sandbox-admin' } },
      },
      [INPUT_IDS.moreRoles]: {
        [ACTION_IDS.pickMoreRoles]: { type: 'multi_static_select', selected_options: [{ value: 'restricted' }] },
      },
      [INPUT_IDS.duration]: { [INPUT_IDS.duration]: { type: 'static_select', selected_option: { value: '1h' } } },
      [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: 'debugging INC-42' } },
    });
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { [INPUT_IDS.moreRoles]: 'You may not request "restricted"; choose one of the roles the menu offers.' },
    });
    expect(await bot.container.requests.openRequests('U0ALICE')).toEqual([]);
  });
});
