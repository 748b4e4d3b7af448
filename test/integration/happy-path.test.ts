import { isRequestIdShaped } from '../../src/domain/request-id';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

describe('request → approval → grant → timed revocation → expiry notices', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('grants on approval and revokes at expiry, telling the requester and the channel', async () => {
    const reply = await bot.commandText('U0ALICE', 'request sandbox-admin 3s debugging INC-42');
    const id = /Request `([^`]*)` for \*sandbox-admin\* \(3s\) is filed/.exec(reply)?.[1] ?? '';
    expect(isRequestIdShaped(id)).toBe(true);

    const posted = await bot.approvalMessage(id);
    const blocks = JSON.stringify(posted.args.blocks);
    expect(blocks).toContain('<@U0ALICE> asks for *sandbox-admin* for *3s*');
    expect(blocks).toContain('Admin on the sandbox account');
    expect(blocks).toContain('dryrun');
    expect(blocks).toContain('debugging INC-42');
    const buttons = (posted.args.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
      .filter((block) => block.type === 'actions')
      .flatMap((block) => block.elements ?? []);
    expect(buttons.map((button) => [button.action_id, button.value])).toEqual([
      ['jit_approve', id],
      ['jit_deny', id],
    ]);
    const approvalTs = String((posted.response as { ts: string }).ts);

    const click = await bot.click('U0LEAD', 'approve', id);
    expect(click.status).toBe(200);

    const activeDm = await bot.waitForDm('U0ALICE', 'is active until');
    expect(String(activeDm.args.text)).toContain('UTC');
    const active = await bot.waitForState(id, 'active');
    expect(active.expiresAt).toBe((active.activatedAt ?? 0) + 3000);
    expect(await bot.container.dryrun.grants()).toEqual([
      expect.objectContaining({ requestId: id, roleId: 'sandbox-admin', principal: 'U0ALICE' }),
    ]);
    await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.update' &&
        call.args.ts === approvalTs &&
        JSON.stringify(call.args.blocks).includes('Approved by <@U0LEAD>') &&
        !JSON.stringify(call.args.blocks).includes('jit_approve'),
      { description: 'approval message rewritten without buttons' },
    );

    await bot.waitForDm('U0ALICE', 'has expired', 10_000);
    const expired = await bot.waitForState(id, 'expired');
    expect(expired.endedAt).toBeGreaterThanOrEqual(active.expiresAt ?? Number.POSITIVE_INFINITY);
    expect(await bot.container.dryrun.grants()).toEqual([]);
    const threadNotice = await bot.slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.channel === APPROVAL_CHANNEL &&
        call.args.thread_ts === approvalTs &&
        String(call.args.text).includes('expired'),
      { description: 'expiry notice in the approval thread' },
    );
    expect(String(threadNotice.args.text)).toContain('<@U0ALICE>');

    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => [event.from, event.to, event.actor])).toEqual([
      ['none', 'pending', 'U0ALICE'],
      ['pending', 'approved', 'U0LEAD'],
      ['approved', 'active', 'system:grant'],
      ['active', 'expired', 'system:expiry'],
    ]);
    expect(bot.logs.filter((line) => line.audit !== undefined)).toHaveLength(4);
  });
});
