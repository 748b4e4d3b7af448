import { isRequestIdShaped } from '../../src/domain/request-id';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The ephemeral refusal the clicker got. */
const ephemeralTo = (bot: TestBot, userId: string, fragment: string) => bot.waitForEphemeral(userId, fragment);

describe('approvers decide', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('deny by a user-group member tells the requester and grants nothing', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h looking around');
    const posted = await bot.approvalMessage(id);
    await bot.click('U0CAROL', 'deny', id);
    const denied = await bot.waitForState(id, 'denied');
    expect(denied.decidedBy).toBe('U0CAROL');
    await bot.waitForDm('U0ALICE', 'was denied by <@U0CAROL>');
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.update' &&
        call.args.ts === (posted.response as { ts: string }).ts &&
        JSON.stringify(call.args.blocks).includes('Denied by <@U0CAROL>'),
      { description: 'message shows the denial' },
    );
    expect(await bot.container.dryrun.grants()).toEqual([]);
    expect(await bot.container.queues.grant.getJobCounts()).toEqual(
      expect.objectContaining({ waiting: 0, active: 0, completed: 0, failed: 0 }),
    );
  });

  it('refuses the requester approving their own request, in every role they approve', async () => {
    const id = await bot.request('U0LEAD', 'sandbox-admin 1h self service');
    await bot.approvalMessage(id);
    await bot.click('U0LEAD', 'approve', id);
    await ephemeralTo(bot, 'U0LEAD', 'you cannot approve it');
    expect((await bot.container.store.get(id))?.state).toBe('pending');
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => event.to)).toEqual(['pending']);
  });

  it('refuses someone who is not an approver', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h reason');
    await bot.approvalMessage(id);
    await bot.click('U0MALLORY', 'approve', id);
    await ephemeralTo(bot, 'U0MALLORY', 'You are not an approver of sandbox-admin');
    await bot.click('U0MALLORY', 'deny', id);
    await ephemeralTo(bot, 'U0MALLORY', 'cannot deny');
    expect((await bot.container.store.get(id))?.state).toBe('pending');
  });

  it('a double click and racing approvers grant exactly once', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h race');
    await bot.approvalMessage(id);
    const clickers = ['U0LEAD', 'U0CAROL', 'U0DAVE'];
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) => bot.click(clickers[i % clickers.length] ?? 'U0LEAD', 'approve', id)),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    await bot.waitForState(id, 'active');
    await bot.waitForDm('U0ALICE', 'is active until');
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => event.to)).toEqual(['pending', 'approved', 'active']);
    expect(await bot.container.dryrun.grants()).toHaveLength(1);
    const revokeJobs = await bot.container.queues.revoke.getJobs(['delayed', 'waiting', 'active']);
    expect(revokeJobs.map((job) => job.id)).toEqual([`revoke-${id}`]);
    // Every losing click was told the request is no longer pending.
    await bot.slack.waitForCount(
      (call) => call.method === 'chat.postEphemeral' && /is already (approved|active)/.test(String(call.args.text)),
      23,
      { description: '23 refusals of the losing clicks' },
    );
  });

  it('needs N distinct approvers when the role says so', async () => {
    const id = await bot.request('U0ALICE', 'prod-db-read 1h query the orders table');
    const posted = await bot.approvalMessage(id);
    expect(JSON.stringify(posted.args.blocks)).toContain('0 of 2 approvals');
    await bot.click('U0LEAD', 'approve', id);
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.update' && JSON.stringify(call.args.blocks).includes('1 of 2 approvals (<@U0LEAD>)'),
      { description: 'message shows 1 of 2' },
    );
    expect((await bot.container.store.get(id))?.state).toBe('pending');
    await bot.click('U0LEAD', 'approve', id);
    await ephemeralTo(bot, 'U0LEAD', 'You already approved');
    await bot.click('U0DAVE', 'approve', id);
    const active = await bot.waitForState(id, 'active');
    expect(active.approvals.map((approval) => approval.userId)).toEqual(['U0LEAD', 'U0DAVE']);
    expect(active.decidedBy).toBe('U0DAVE');
  });

  it('the requester cancels a pending request, and cannot cancel it twice', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h reason');
    await bot.approvalMessage(id);
    expect(await bot.commandText('U0BOB', `cancel ${id}`)).toContain('Only <@U0ALICE>');
    expect(await bot.commandText('U0ALICE', `cancel ${id}`)).toContain(
      `Request \`${id}\` for *sandbox-admin* is cancelled`,
    );
    await bot.waitForState(id, 'cancelled');
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.update' && JSON.stringify(call.args.blocks).includes('Cancelled by the requester'),
      { description: 'message shows the cancellation' },
    );
    expect(await bot.commandText('U0ALICE', `cancel ${id}`)).toContain('already cancelled');
    await bot.click('U0LEAD', 'approve', id);
    await ephemeralTo(bot, 'U0LEAD', 'already cancelled');
  });

  it('ends active access early on /jit revoke by the requester or an approver', async () => {
    const first = await bot.request('U0ALICE', 'sandbox-admin 1h first');
    await bot.approvalMessage(first);
    await bot.click('U0LEAD', 'approve', first);
    await bot.waitForState(first, 'active');
    expect(await bot.commandText('U0MALLORY', `revoke ${first}`)).toContain('Only <@U0ALICE> or an approver');
    expect(await bot.commandText('U0ALICE', `revoke ${first}`)).toContain('Revoking access');
    const revoked = await bot.waitForState(first, 'revoked');
    expect(revoked.endedBy).toBe('U0ALICE');
    await bot.waitForDm('U0ALICE', 'You ended your access to *sandbox-admin*');
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.thread_ts !== undefined &&
        String(call.args.text).includes('was revoked by <@U0ALICE>'),
      { description: 'revocation notice in the thread' },
    );

    const second = await bot.request('U0ALICE', 'sandbox-admin 1h second');
    await bot.approvalMessage(second);
    await bot.click('U0CAROL', 'approve', second);
    await bot.waitForState(second, 'active');
    await bot.commandText('U0DAVE', `revoke ${second}`);
    await bot.waitForDm('U0ALICE', 'was revoked by <@U0DAVE>');
    expect(await bot.container.dryrun.grants()).toEqual([]);
    expect(await bot.commandText('U0ALICE', `revoke ${second}`)).toContain('already revoked');
    const audit = await bot.container.auditLog.read({ requestId: second });
    expect(audit.at(-1)).toEqual(expect.objectContaining({ from: 'active', to: 'revoked', actor: 'U0DAVE' }));
  });

  it('times out a request nobody decides, and refuses later clicks', async () => {
    const id = await bot.request('U0ALICE', 'quick-timeout 1h reason');
    const posted = await bot.approvalMessage(id);
    await bot.waitForDm('U0ALICE', 'timed out', 8_000);
    const timedOut = await bot.waitForState(id, 'timed-out');
    expect(timedOut.updatedAt).toBeGreaterThanOrEqual(timedOut.approvalDeadline);
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.update' &&
        call.args.ts === (posted.response as { ts: string }).ts &&
        JSON.stringify(call.args.blocks).includes('Timed out'),
      { description: 'message shows the timeout' },
    );
    await bot.click('U0LEAD', 'approve', id);
    await ephemeralTo(bot, 'U0LEAD', 'timed-out');
    expect(await bot.container.dryrun.grants()).toEqual([]);
  });

  it('auto-approves roles that say so, still audited', async () => {
    const reply = await bot.commandText('U0ALICE', 'request staging-deployer 1h deploy hotfix');
    expect(reply).toContain('auto-approved');
    const id = /`([^`]*)`/.exec(reply)?.[1] ?? '';
    expect(isRequestIdShaped(id)).toBe(true);
    await bot.waitForDm('U0ALICE', 'is active until');
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => [event.to, event.actor])).toEqual([
      ['pending', 'U0ALICE'],
      ['approved', 'system:auto-approve'],
      ['active', 'system:grant'],
    ]);
    const posted = await bot.approvalMessage(id);
    expect(posted.args.channel).toBe(APPROVAL_CHANNEL);
  });

  it('marks the request failed with the reason when the grant cannot be made', async () => {
    const id = await bot.request('U0ALICE', 'broken 1h reason');
    await bot.approvalMessage(id);
    await bot.click('U0LEAD', 'approve', id);
    const failed = await bot.waitForState(id, 'failed');
    expect(failed.failureReason).toBe('the sandbox account is closed');
    await bot.waitForDm('U0ALICE', 'granting failed: the sandbox account is closed');
    await bot.slack.waitFor(
      (call) => call.method === 'chat.update' && JSON.stringify(call.args.blocks).includes('granting failed'),
      { description: 'message shows the failure' },
    );
    expect(await bot.container.dryrun.grants()).toEqual([]);
  });
});
