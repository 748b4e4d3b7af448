import type { RecordedCall } from '../support/fake-slack-api';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const AUDIT_CHANNEL = 'C0AUDIT';
const POLICY_WITH_AUDIT = TEST_POLICY.replace('settings:\n', `settings:\n  auditChannel: ${AUDIT_CHANNEL}\n`);

const succeeded = (call: RecordedCall) => (call.response as { ok?: boolean }).ok === true;

describe('notices', () => {
  let bot: TestBot;
  let auditFailuresLeft: number;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY_WITH_AUDIT, usergroups: USERGROUPS });
    auditFailuresLeft = 0;
    let ts = 1_700_000_000;
    bot.slack.setHandler('chat.postMessage', (args) => {
      if (args.channel === AUDIT_CHANNEL && auditFailuresLeft > 0) {
        auditFailuresLeft -= 1;
        return { ok: false, error: 'not_in_channel' };
      }
      ts += 1;
      return { ok: true, channel: String(args.channel), ts: `${ts}.000100` };
    });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('writes one audit-channel line per event', async () => {
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    await bot.waitForState(id, 'active');
    const lines = await bot.slack.waitForCount(
      (call) => call.method === 'chat.postMessage' && call.args.channel === AUDIT_CHANNEL,
      3,
      { description: 'audit lines for requested, approved and activated' },
    );
    expect(lines.map((call) => String(call.args.text).replace(/.*· /, '')).sort()).toEqual([
      'activated',
      'approved',
      'requested',
    ]);
  });

  it('a failing part of a notice is retried alone: nothing is posted twice, nothing else is held back', async () => {
    auditFailuresLeft = 4;
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    // The requester hears at once, although the audit channel refuses the first posts.
    await bot.waitForDm('U0ALICE', 'is active until');
    await bot.slack.waitForCount(
      (call) => call.method === 'chat.postMessage' && call.args.channel === AUDIT_CHANNEL && succeeded(call),
      3,
      { description: 'audit lines delivered after retries', timeoutMs: 15_000 },
    );
    const posts = bot.slack.calls('chat.postMessage').filter(succeeded);
    const parents = posts.filter((call) => call.args.channel === APPROVAL_CHANNEL && call.args.thread_ts === undefined);
    expect(parents).toHaveLength(1);
    expect(JSON.stringify(parents[0]?.args.blocks)).toContain(id);
    const dms = posts.filter((call) => call.args.channel === 'U0ALICE');
    expect(dms).toHaveLength(1);
    const threadReplies = posts
      .filter((call) => call.args.thread_ts !== undefined)
      .map((call) => String(call.args.text));
    expect(threadReplies.filter((text) => text.includes('Access is active until'))).toHaveLength(1);
    expect(threadReplies.filter((text) => text.includes('Approved by'))).toHaveLength(1);
  });
});
