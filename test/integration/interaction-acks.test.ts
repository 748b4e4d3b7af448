import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import { viewSubmissionBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/**
 * A Slack look-up the fake holds until the test releases it, so the test knows the bot's answer to Slack came
 * while the look-up was still out (without measuring time).
 */
function heldLookup() {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { asked: 0, answered: 0 };
  return {
    state,
    release,
    /** Waits for the release, then answers with `answer()`. */
    async hold<T>(answer: () => T): Promise<T> {
      state.asked += 1;
      await released;
      state.answered += 1;
      return answer();
    },
  };
}

const activeUser = (id: string, overrides: Record<string, unknown> = {}) => ({
  ok: true,
  user: {
    id,
    name: id.toLowerCase(),
    deleted: false,
    is_restricted: false,
    is_ultra_restricted: false,
    profile: {},
    ...overrides,
  },
});

describe('every interaction is acknowledged in time', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  /** A pending request and where its approval message is. */
  const pending = async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h debugging INC-7');
    await bot.approvalMessage(id);
    // The bot stores where the message is once Slack has answered the post.
    return { id, ...(await bot.storedApprovalMessage(id)) };
  };

  it('tells the clicker privately when a button carries no request ID, and audits the refusal', async () => {
    const { id, channel, ts } = await pending();
    const answer = await bot.press('U0LEAD', ACTION_IDS.approve, 'not a request!', {
      channelId: channel,
      messageTs: ts,
    });
    expect(answer.status).toBe(200);
    const told = await bot.waitForEphemeral('U0LEAD', 'request ID');
    expect(told.args.channel).toBe(channel);
    const refusals = await bot.container.auditLog.notes({ kind: 'refusal' });
    expect(refusals.map((note) => [note.actor, note.requestId, note.reason.split(' ')[0]])).toEqual([
      ['U0LEAD', undefined, ACTION_IDS.approve],
    ]);
    expect((await bot.container.store.get(id))?.state).toBe('pending');
  });

  describe('a deny submission whose checks wait on a slow Slack look-up', () => {
    /** The deny modal's submission by U0DAVE, as Slack sends it; he never clicked, so nothing of his is cached. */
    const submitDeny = (ref: { id: string; channel: string; ts: string }) =>
      postSigned(
        bot.eventsUrl,
        viewSubmissionBody({
          userId: 'U0DAVE',
          view: {
            id: 'V0DENYDAVE',
            type: 'modal',
            callbackId: VIEW_IDS.deny,
            privateMetadata: JSON.stringify({ requestId: ref.id, channel: ref.channel, ts: ref.ts }),
            values: { [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: 'not today' } } },
          },
        }),
        bot.signingSecret,
      );

    it('closes the form before the look-up returns, then denies', async () => {
      const ref = await pending();
      const lookup = heldLookup();
      bot.slack.setHandler('users.info', (args) => lookup.hold(() => activeUser(String(args.user))));
      const answer = await submitDeny(ref);
      // Slack has its acknowledgement (the form closes) while the bot still waits on Slack's answer.
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('');
      expect(lookup.state).toEqual({ asked: 1, answered: 0 });
      lookup.release();
      const denied = await bot.waitForState(ref.id, 'denied');
      expect(denied.decidedBy).toBe('U0DAVE');
      expect(denied.denialReason).toBe('not today');
    });

    it('sends a refusal known only after the form closed as a DM', async () => {
      const ref = await pending();
      const lookup = heldLookup();
      bot.slack.setHandler('users.info', (args) => lookup.hold(() => activeUser(String(args.user), { deleted: true })));
      const answer = await submitDeny(ref);
      expect(answer.text).toBe('');
      expect(lookup.state).toEqual({ asked: 1, answered: 0 });
      lookup.release();
      await bot.waitForDm('U0DAVE', 'deactivated');
      expect((await bot.container.store.get(ref.id))?.state).toBe('pending');
      const refusals = await bot.container.auditLog.notes({ requestId: ref.id, kind: 'refusal' });
      expect(refusals.map((note) => note.actor)).toEqual(['U0DAVE']);
    });
  });

  it('an extend submission waiting on a slow Slack look-up closes the form first, then DMs the outcome', async () => {
    const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging', 'U0LEAD');
    await bot.pressInHome('U0ALICE', ACTION_IDS.extend, active.id);
    const opened = await bot.waitForModal(VIEW_IDS.extend);
    // The policy is reloaded meanwhile: members of a user group nobody has looked up yet get extensions at once.
    bot.setPolicy(
      TEST_POLICY.replace(
        '    maxDuration: 4h\n    approvalChannel: C0APPROVALS\n',
        '    maxDuration: 4h\n    approvalChannel: C0APPROVALS\n    autoApproveWhen:\n      usergroups: [S0LATE]\n',
      ),
    );
    const lookup = heldLookup();
    bot.slack.setHandler('usergroups.users.list', (args) =>
      lookup.hold(() => ({ ok: true, users: args.usergroup === 'S0LATE' ? ['U0ALICE'] : [] })),
    );
    const answer = await bot.submitModal('U0ALICE', opened, {
      [INPUT_IDS.duration]: { [INPUT_IDS.duration]: { type: 'static_select', selected_option: { value: '1h' } } },
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(lookup.state).toEqual({ asked: 1, answered: 0 });
    lookup.release();
    const told = await bot.waitForDm('U0ALICE', `to \`${active.id}\` now`);
    expect(String(told.args.text)).toContain('Adding 1h');
    await bot.waitForDm('U0ALICE', 'is extended until');
  });
});
