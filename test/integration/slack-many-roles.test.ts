import { LogLevel, WebClient } from '@slack/web-api';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import type { RecordedCall } from '../support/fake-slack-api';
import { startTestBot, type TestBot } from '../support/test-bot';

/**
 * A policy of 300 roles, all through the real Bolt app: every fifth role (index 4, 9, …) only Bob may request,
 * every tenth is a database role, and twelve (index 1, 26, 51, …) are approved at once.
 */
const ROLE_COUNT = 300;
const roleId = (index: number) => `role-${String(index).padStart(3, '0')}`;
const onlyBob = (index: number) => index % 5 === 4;
const autoApproved = (index: number) => index % 25 === 1;
const POLICY = `
settings:
  defaultDuration: 1h
  minDuration: 1s
  maxDuration: 8h
  approvalTimeout: 30m
  maxOpenRequestsPerPerson: 1000
roles:
${Array.from(
  { length: ROLE_COUNT },
  (_, index) => `  - id: ${roleId(index)}
    description: ${index % 10 === 0 ? 'Database' : 'Application'} admin for team ${index}
    provider: dryrun
    maxDuration: ${1 + (index % 4)}h
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
${autoApproved(index) ? '    autoApprove: true\n' : ''}${onlyBob(index) ? '    requesters:\n      users: [U0BOB]\n' : ''}`,
).join('')}`;

/** The roles Alice may request, in policy order. */
const ALICES = Array.from({ length: ROLE_COUNT }, (_, index) => index)
  .filter((index) => !onlyBob(index))
  .map(roleId);

type Json = Record<string, unknown>;
interface OptionGroup {
  label: { text: string };
  options: { text: { text: string }; description?: { text: string }; value: string }[];
}

const blocksOf = (call: RecordedCall) => ((call.args.view as Json).blocks ?? []) as Json[];
const elementOf = (call: RecordedCall, blockId: string) =>
  (blocksOf(call).find((block) => block.block_id === blockId)?.element ?? {}) as Json;
const groupsOf = (answer: { json?: unknown }) => (answer.json as { option_groups?: OptionGroup[] }).option_groups ?? [];
const valuesOf = (groups: OptionGroup[]) => groups.flatMap((group) => group.options.map((option) => option.value));
const choice = (type: 'static_select' | 'external_select', value: string) => ({ type, selected_option: { value } });
const formValues = (roleValue: string, duration: string, reason: string) => ({
  [INPUT_IDS.role]: { [ACTION_IDS.pickRole]: choice('external_select', roleValue) },
  [INPUT_IDS.duration]: { [INPUT_IDS.duration]: choice('static_select', duration) },
  [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input' as const, value: reason } },
});
/** Slack's section text limit (docs.slack.dev/reference/block-kit/blocks/section-block). */
const sectionTexts = (blocks: Json[]) =>
  blocks
    .filter((block) => block.type === 'section')
    .map((block) => String((block.text as Json | undefined)?.text ?? ''));

describe('the request form and every surface with 300 roles', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY });
  });
  afterEach(async () => {
    await bot.stop();
  });

  async function openForm(userId: string): Promise<RecordedCall> {
    await bot.command(userId, '');
    return bot.waitForModal(VIEW_IDS.request);
  }

  it('opens the form with a type-ahead role menu, which Slack accepts', async () => {
    const opened = await openForm('U0ALICE');
    expect((opened.response as { ok: boolean }).ok).toBe(true);
    const menu = elementOf(opened, INPUT_IDS.role);
    expect(menu).toMatchObject({ type: 'external_select', action_id: ACTION_IDS.pickRole, min_query_length: 0 });
    expect(menu.options).toBeUndefined();
    expect(menu.option_groups).toBeUndefined();
  });

  it('offers only roles the person may request, matching what they type, grouped by cloud, at most 100', async () => {
    const opened = await openForm('U0ALICE');

    const everything = await bot.suggestRoles('U0ALICE', opened, '');
    expect(everything.status).toBe(200);
    const groups = groupsOf(everything);
    const values = valuesOf(groups);
    expect(values).toHaveLength(100);
    expect(values.slice(0, 99)).toEqual(ALICES.slice(0, 99));
    expect(groups[0]?.label.text).toBe('Dry run (no cloud)');
    expect(groups.at(-1)?.options.map((option) => option.text.text)).toEqual([
      `${ALICES.length - 99} more — type more of a name to narrow`,
    ]);

    const databases = valuesOf(groupsOf(await bot.suggestRoles('U0ALICE', opened, 'DATABASE')));
    expect(databases).toEqual(ALICES.filter((id) => Number(id.slice(5)) % 10 === 0));
    expect(databases).toHaveLength(30);

    // role-244 and role-249 are Bob's only: never offered to Alice, whatever she types.
    expect(valuesOf(groupsOf(await bot.suggestRoles('U0ALICE', opened, 'role-24')))).toEqual([
      'role-240',
      'role-241',
      'role-242',
      'role-243',
      'role-245',
      'role-246',
      'role-247',
      'role-248',
    ]);
    expect(valuesOf(groupsOf(await bot.suggestRoles('U0ALICE', opened, 'role-249')))).toEqual([]);
    expect(valuesOf(groupsOf(await bot.suggestRoles('U0BOB', opened, 'role-249')))).toEqual(['role-249']);

    // Every answer stays within the option object's limits.
    for (const option of groups.flatMap((group) => group.options)) {
      expect(option.text.text.length).toBeLessThanOrEqual(75);
      expect((option.description?.text ?? '').length).toBeLessThanOrEqual(75);
    }
  });

  it('a role past the hundredth can be picked: the duration menu redraws, and submitting files the request', async () => {
    const opened = await openForm('U0ALICE');
    expect(valuesOf(groupsOf(await bot.suggestRoles('U0ALICE', opened, 'role-250')))).toEqual(['role-250']);
    await bot.pressInModal('U0ALICE', opened, ACTION_IDS.pickRole, 'role-250', { kind: 'external_select' });
    const updated = await bot.slack.waitFor('views.update');
    expect((updated.response as { ok: boolean }).ok).toBe(true);
    expect(updated.args.view_id).toBe((opened.response as { view: { id: string } }).view.id);
    expect(String(updated.args.hash)).toMatch(/\.hash$/);
    expect((elementOf(updated, INPUT_IDS.role).initial_option as Json).value).toBe('role-250');
    const durations = elementOf(updated, INPUT_IDS.duration);
    const offered = ((durations.options ?? []) as Json[]).map((option) => option.value);
    // role-250 may last at most 3h.
    expect(offered).toContain('3h');
    expect(offered).not.toContain('4h');
    expect((durations.initial_option as Json).value).toBe('1h');

    const answer = await bot.submitModal('U0ALICE', updated, formValues('role-250', '3h', 'migrating team 250'));
    expect((answer.json as { response_action?: string }).response_action).toBe('update');
    const [request] = await bot.container.requests.openRequests('U0ALICE');
    expect(request).toMatchObject({ roleId: 'role-250', durationMs: 3 * 3_600_000, reason: 'migrating team 250' });
  });

  it('refuses a role the person may not request at submission, even forged into the payload, next to the field', async () => {
    const opened = await openForm('U0ALICE');
    const refusals = [
      ['role-004', 'You may not request "role-004"; choose one of the roles the menu offers.'],
      [':more', 'That is not a role: type more of its name or description, then choose it.'],
      ['Role-004<!channel>', 'Choose a role from the menu.'],
    ] as const;
    for (const [forged, error] of refusals) {
      const answer = await bot.submitModal('U0ALICE', opened, formValues(forged, '1h', 'trying'));
      expect(answer.json).toEqual({ response_action: 'errors', errors: { [INPUT_IDS.role]: error } });
    }
    // Picking a forged role does not redraw the form around it either.
    await bot.pressInModal('U0ALICE', opened, ACTION_IDS.pickRole, 'role-004', { kind: 'external_select' });
    await bot.pressInModal('U0ALICE', opened, ACTION_IDS.pickRole, 'role-000', { kind: 'external_select' });
    const [update] = await bot.slack.waitForCount('views.update', 1);
    expect((elementOf(update as RecordedCall, INPUT_IDS.role).initial_option as Json).value).toBe('role-000');
    expect(bot.slack.calls('views.update')).toHaveLength(1);
    expect(await bot.container.requests.openRequests('U0ALICE')).toEqual([]);
    const audited = await bot.container.auditLog.notes({ kind: 'refusal' });
    expect(audited.map((note) => note.actor)).toEqual(['U0ALICE']);
  });

  it('`/jit roles` stays within Slack message length, counting the roles it leaves out', async () => {
    const text = await bot.commandText('U0ALICE', 'roles');
    // docs.slack.dev/reference/methods/chat.postMessage: text within 4,000 characters.
    expect(text.length).toBeLessThanOrEqual(4000);
    const listed = text.split('\n').filter((line) => line.startsWith('• '));
    expect(listed.length).toBeGreaterThan(10);
    const hidden = Number(/…and (\d+) more: type part of a name or description in the form/.exec(text)?.[1]);
    expect(listed.length + hidden).toBe(ALICES.length);
    expect(text).not.toContain('role-004');
    // A refused typed request names a few of the roles she may request and counts the rest.
    const refusal = await bot.commandText('U0ALICE', 'request role-004 1h reports');
    expect(refusal).toContain(
      `You may not request "role-004". Roles you may request: ${ALICES.slice(0, 20).join(', ')} and ${ALICES.length - 20} more (\`/jit roles\`).`,
    );
  });

  it('the App Home with hundreds of requests stays within Block Kit limits and says where the rest are', async () => {
    // A reason that escaping makes four times longer: the approval messages must still fit Slack's sections.
    const reason = '<&>'.repeat(300);
    const auto = ALICES.filter((id) => autoApproved(Number(id.slice(5))));
    const pending = ALICES.filter((id) => !autoApproved(Number(id.slice(5)))).slice(0, 120);
    for (const id of [...auto, ...pending]) await bot.request('U0ALICE', `${id} 1h ${reason}`);
    await bot.slack.waitForCount(
      (call) =>
        call.method === 'chat.postMessage' && call.args.channel === 'C0APPROVALS' && call.args.thread_ts === undefined,
      pending.length,
      { description: 'an approval message for each pending request', timeoutMs: 20_000 },
    );
    for (const id of auto) await bot.waitForState(await idOf(bot, id), 'active');
    const refused = bot.slack.calls().filter((call) => (call.response as { ok?: boolean } | undefined)?.ok === false);
    expect(refused.map((call) => call.method)).toEqual([]);

    const alice = await bot.openHome('U0ALICE');
    const lead = await bot.openHome('U0LEAD');
    for (const [home, hidden] of [
      [alice, ['…and 2 more: `/jit list`', '…and 110 more: `/jit list`']],
      [lead, ['…and 105 more: the approval channels']],
    ] as const) {
      expect((home.response as { ok: boolean }).ok).toBe(true);
      const blocks = blocksOf(home);
      // docs.slack.dev/reference/views/home-tab-views: at most 100 blocks.
      expect(blocks.length).toBeLessThanOrEqual(100);
      for (const text of sectionTexts(blocks)) expect(text.length).toBeLessThanOrEqual(3000);
      const shown = JSON.stringify(blocks);
      for (const line of hidden) expect(shown).toContain(line);
    }
  }, 60_000);

  it('the fake Slack refuses what Slack refuses: a view over 100 blocks, a menu over 100 options', async () => {
    // The refusals below are expected; the client would print each one on the console.
    const quiet = {
      debug() {},
      info() {},
      warn() {},
      error() {},
      setLevel() {},
      getLevel: () => LogLevel.ERROR,
      setName() {},
    };
    const client = new WebClient('xoxb-test-token-0000', {
      slackApiUrl: bot.slack.url,
      retryConfig: { retries: 0 },
      logger: quiet,
    });
    const divider = { type: 'divider' };
    await expect(
      client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks: Array(101).fill(divider) } }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    const options = Array.from({ length: 101 }, (_, index) => ({
      text: { type: 'plain_text' as const, text: `o${index}` },
      value: `o${index}`,
    }));
    await expect(
      client.views.open({
        trigger_id: 'T',
        view: {
          type: 'modal',
          title: { type: 'plain_text', text: 'Menu' },
          blocks: [
            {
              type: 'section',
              text: { type: 'mrkdwn', text: 'm' },
              accessory: { type: 'static_select', action_id: 'a', options },
            },
          ],
        },
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await expect(
      client.chat.postMessage({ channel: 'C0APPROVALS', text: 't', blocks: Array(51).fill(divider) }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    // …and takes what fits.
    await expect(
      client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks: Array(100).fill(divider) } }),
    ).resolves.toMatchObject({ ok: true });
  });
});

/** The ID of Alice's open request for a role. */
async function idOf(bot: TestBot, role: string): Promise<string> {
  const open = await bot.container.requests.openRequests('U0ALICE');
  const found = open.find((request) => request.roleId === role);
  if (!found) throw new Error(`no open request for ${role}`);
  return found.id;
}
