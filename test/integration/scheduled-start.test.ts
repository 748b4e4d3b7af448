import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The wall time `ms` shows in Tokyo (UTC+9, no daylight saving), to the second, as a person types it. */
const tokyoWallTime = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

describe('a scheduled start, through the real Bolt app', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('`/jit request … at <time>` in the requester’s zone: approved ahead, granted at the start, expires at start + duration', async () => {
    bot.slack.setUser('U0ALICE', { tz: 'Asia/Tokyo' });
    const start = Math.ceil((Date.now() + 5_000) / 1_000) * 1_000;
    const id = await bot.request('U0ALICE', `sandbox-admin 3s maintenance OPS-7 at ${tokyoWallTime(start)}`);
    expect(await bot.container.store.get(id)).toMatchObject({ state: 'pending', startsAt: start });

    const message = await bot.approvalMessage(id);
    expect(JSON.stringify(message.args.blocks)).toContain(`*Starts*\\n<!date^${start / 1_000}^`);
    await bot.click('U0LEAD', 'approve', id);
    await bot.waitForState(id, 'approved');
    await bot.waitForDm('U0ALICE', 'access starts');

    const list = await bot.commandText('U0ALICE', 'list');
    expect(list).toContain(`\`${id}\` *sandbox-admin* — approved, starts at <!date^${start / 1_000}^`);
    const status = await bot.commandText('U0ALICE', `status ${id}`);
    expect(status).toContain('*Scheduled start*');

    // Nothing granted before the start.
    expect(Date.now()).toBeLessThan(start);
    expect(await bot.container.store.get(id)).toMatchObject({ state: 'approved' });
    expect(bot.slack.calls('chat.postMessage').some((call) => String(call.args.text).includes('is active until'))).toBe(
      false,
    );

    const active = await bot.waitForState(id, 'active', 15_000);
    expect(active.activatedAt).toBeGreaterThanOrEqual(start);
    expect(active.expiresAt).toBe(start + 3_000);
    const expired = await bot.waitForExpiry(active, 15_000);
    expect(expired.endedAt).toBeGreaterThanOrEqual(start + 3_000);
  }, 30_000);

  it('refuses a past start and an unreadable one with a sentence, storing nothing', async () => {
    const past = await bot.commandText('U0ALICE', 'request sandbox-admin 1h patching at 2020-01-01 10:00');
    expect(past).toContain('has already passed');
    const unreadable = await bot.commandText('U0ALICE', 'request sandbox-admin 1h patching at 2026-02-30 10:00');
    expect(unreadable).toContain('is no such time');
    const tooFar = await bot.commandText('U0ALICE', 'request sandbox-admin 1h patching at 2099-01-01T10:00Z');
    expect(tooFar).toContain('at most 7d ahead');
    expect(await bot.container.requests.openRequests('U0ALICE')).toEqual([]);
  });

  it('the requester cancels an approved request before its start: nothing is granted', async () => {
    const start = Date.now() + 3_000;
    const id = await bot.request('U0ALICE', `sandbox-admin 2s patching at ${new Date(start).toISOString()}`);
    await bot.approvalMessage(id);
    await bot.click('U0LEAD', 'approve', id);
    await bot.waitForState(id, 'approved');
    expect(await bot.commandText('U0ALICE', `cancel ${id}`)).toContain('is cancelled');
    await new Promise((resolve) => setTimeout(resolve, start + 1_000 - Date.now()));
    expect(await bot.container.store.get(id)).toMatchObject({ state: 'cancelled' });
  }, 15_000);

  it('the request form has a start field; a picked start is stored', async () => {
    await bot.command('U0ALICE', '');
    const opened = await bot.waitForModal(VIEW_IDS.request);
    const blocks = (opened.args.view as { blocks: { block_id?: string; element?: { type?: string } }[] }).blocks;
    expect(blocks.find((block) => block.block_id === INPUT_IDS.start)?.element?.type).toBe('datetimepicker');

    const start = Math.floor(Date.now() / 1_000) + 3_600;
    const answer = await bot.submitModal('U0ALICE', opened, {
      [INPUT_IDS.role]: {
        [ACTION_IDS.pickRole]: { type: 'static_select', selected_option: { value: 'sandbox-admin' } },
      },
      [INPUT_IDS.duration]: { [INPUT_IDS.duration]: { type: 'static_select', selected_option: { value: '1h' } } },
      [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: 'window OPS-7' } },
      [INPUT_IDS.start]: { [INPUT_IDS.start]: { type: 'datetimepicker', selected_date_time: start } },
    });
    expect((answer.json as { response_action?: string }).response_action).toBe('update');
    const [request] = await bot.container.requests.openRequests('U0ALICE');
    expect(request?.startsAt).toBe(start * 1_000);
    // The role's 30m timeout ends before the start, so it stands.
    expect(request?.approvalDeadline).toBe((request?.createdAt ?? 0) + 30 * 60_000);
  });

  it('a past start picked in the form shows next to the start field', async () => {
    await bot.command('U0ALICE', '');
    const opened = await bot.waitForModal(VIEW_IDS.request);
    const answer = await bot.submitModal('U0ALICE', opened, {
      [INPUT_IDS.role]: {
        [ACTION_IDS.pickRole]: { type: 'static_select', selected_option: { value: 'sandbox-admin' } },
      },
      [INPUT_IDS.duration]: { [INPUT_IDS.duration]: { type: 'static_select', selected_option: { value: '1h' } } },
      [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: 'window' } },
      [INPUT_IDS.start]: { [INPUT_IDS.start]: { type: 'datetimepicker', selected_date_time: 1_600_000_000 } },
    });
    const json = answer.json as { response_action?: string; errors?: Record<string, string> };
    expect(json.response_action).toBe('errors');
    expect(json.errors?.[INPUT_IDS.start]).toContain('has already passed');
  });
});
