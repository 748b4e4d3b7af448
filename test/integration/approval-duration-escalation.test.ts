import { approvalDurationBlockId } from '../../src/slack/blocks/approval-duration';
import { ACTION_IDS } from '../../src/slack/ids';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The shared test policy plus a role that escalates to U0SEC and the on-call group after 2 seconds. */
const POLICY = `${TEST_POLICY}
  - id: escalating
    description: Escalates fast
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvalTimeout: 30m
    escalateAfter: 2s
    escalateTo:
      users: [U0SEC]
      usergroups: [S0ONCALL]
    approvers:
      users: [U0LEAD]
`;

describe('approving for less time, through the approval message', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('offers the menu, grants the chosen shorter time, and tells the requester and the thread', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 2h deploy fix');
    const posted = await bot.approvalMessage(id);
    const blocks = posted.args.blocks as { block_id?: string; accessory?: { action_id?: string } }[];
    const menu = blocks.find((block) => block.block_id === approvalDurationBlockId(id));
    expect(menu?.accessory?.action_id).toBe(ACTION_IDS.approvalDuration);
    // Picking from the menu is only acknowledged; nothing is decided until Approve.
    const picked = await bot.press('U0LEAD', ACTION_IDS.approvalDuration, '30m', { channelId: 'C0APPROVALS' });
    expect(picked.status).toBe(200);

    await bot.approveFor('U0LEAD', id, '30m');
    const active = await bot.waitForState(id, 'active');
    expect(active).toMatchObject({ durationMs: 30 * 60_000, requestedDurationMs: 2 * 3_600_000 });
    expect((active.expiresAt ?? 0) - (active.activatedAt ?? 0)).toBe(30 * 60_000);
    await bot.waitForDm('U0ALICE', 'was approved for 30m instead of 2h by <@U0LEAD>');
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.thread_ts !== undefined &&
        String(call.args.text).includes('Approved for 30m instead of 2h by <@U0LEAD>'),
      { description: 'thread reply about the shorter approval' },
    );
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => event.reason)).toContain('approved (1 of 1) for 30m instead of 2h');
  });

  it('a plain Approve keeps the asked duration', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 2h plain');
    await bot.approvalMessage(id);
    await bot.approveFor('U0LEAD', id, '2h');
    const active = await bot.waitForState(id, 'active');
    expect(active.durationMs).toBe(2 * 3_600_000);
    expect(active.requestedDurationMs).toBeUndefined();
  });

  it('two approvers with different picks: the shortest is granted', async () => {
    const id = await bot.request('U0ALICE', 'prod-db-read 2h report');
    await bot.approvalMessage(id);
    await bot.approveFor('U0LEAD', id, '15m');
    await bot.slack.waitFor(
      (call) => call.method === 'chat.update' && JSON.stringify(call.args.blocks).includes('1 of 2 approvals'),
      { description: 'first approval recorded' },
    );
    await bot.approveFor('U0DAVE', id, '1h');
    const active = await bot.waitForState(id, 'active');
    expect(active.durationMs).toBe(15 * 60_000);
    await bot.waitForDm('U0ALICE', 'approved for 15m instead of 2h by <@U0LEAD>');
  });

  it('refuses a pick longer than asked for, with the sentence, and changes nothing', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h short');
    await bot.approvalMessage(id);
    await bot.approveFor('U0LEAD', id, '3h');
    await bot.waitForEphemeral('U0LEAD', 'is longer than the 1h asked for');
    expect((await bot.container.store.get(id))?.state).toBe('pending');
  });
});

describe('escalation', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('refuses an escalation approver before escalateAfter, then mentions and DMs them, and they can approve', async () => {
    const id = await bot.request('U0ALICE', 'escalating 1h nobody around');
    await bot.approvalMessage(id);
    await bot.click('U0SEC', 'approve', id);
    await bot.waitForEphemeral('U0SEC', 'is escalated to you only if nobody decides by');
    expect((await bot.container.store.get(id))?.state).toBe('pending');

    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.thread_ts !== undefined &&
        String(call.args.text).includes('escalated to <@U0SEC>, <!subteam^S0ONCALL>'),
      { description: 'escalation mention in the thread', timeoutMs: 10_000 },
    );
    const dm = await bot.waitForDm('U0SEC', 'Escalated to you', 10_000);
    expect(JSON.stringify(dm.args.blocks)).toContain(ACTION_IDS.approve);
    await bot.waitForDm('U0CAROL', 'Escalated to you');
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => event.actor)).toContain('system:escalation');

    const response = dm.response as { channel: string; ts: string };
    await bot.press('U0SEC', ACTION_IDS.approve, id, { channelId: response.channel, messageTs: response.ts });
    const active = await bot.waitForState(id, 'active');
    expect(active.decidedBy).toBe('U0SEC');
  });

  it('a request decided before escalateAfter is not escalated', async () => {
    const id = await bot.request('U0ALICE', 'escalating 1h quick');
    await bot.approvalMessage(id);
    await bot.click('U0LEAD', 'approve', id);
    await bot.waitForState(id, 'active');
    const job = await bot.container.queues.approvalTimeout.getJob(`escalation-${id}`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (job?.timestamp ?? 0) + 2_500 - Date.now())));
    await bot.handled();
    const stored = await bot.container.store.get(id);
    expect(stored?.escalatedAt).toBeUndefined();
    expect(bot.slack.calls().some((call) => call.method === 'chat.postMessage' && call.args.channel === 'U0SEC')).toBe(
      false,
    );
  });
});
