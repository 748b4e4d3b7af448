import { ACTION_IDS, INPUT_IDS, SHORTCUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import { eventually } from '../support/eventually';
import type { RecordedCall } from '../support/fake-slack-api';
import { shortcutBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The test policy plus roles for the modal's ticket check, extensions and reminders. */
const POLICY = `${TEST_POLICY.replace('settings:\n', 'settings:\n  reminderBefore: 2s\n')}
  - id: ticketed
    description: Needs a ticket
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
    requireTicket: true
  - id: self-extending
    description: Extend it yourself
    provider: dryrun
    maxDuration: 1h
    approvalChannel: C0APPROVALS
    autoApprove: true
    selfExtend: true
  - id: slow-approval
    description: Approvers get reminded
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvalTimeout: 5s
    approvers:
      users: [U0LEAD, U0SEC]
`;

type Json = Record<string, unknown>;
const viewOf = (call: RecordedCall) => call.args.view as Json;
const blocksOf = (call: RecordedCall) => (viewOf(call).blocks ?? []) as Json[];
const inputBlock = (call: RecordedCall, blockId: string) => blocksOf(call).find((block) => block.block_id === blockId);
const elementOf = (block: Json | undefined) => (block?.element ?? {}) as Json;
const optionValues = (element: Json) =>
  [
    ...((element.options ?? []) as Json[]),
    ...((element.option_groups ?? []) as Json[]).flatMap((group) => group.options as Json[]),
  ].map((option) => option.value);
/** Every button in a view or message, as `action_id:value`. */
const buttonsOf = (blocks: Json[]) =>
  blocks
    .filter((block) => block.type === 'actions')
    .flatMap((block) => block.elements as Json[])
    .map((element) => `${String(element.action_id)}:${String(element.value)}`);

const text = (value: string) => ({ type: 'plain_text_input' as const, value });
const choice = (value: string) => ({ type: 'static_select' as const, selected_option: { value } });
const formValues = (roleId: string, duration: string, reason: string) => ({
  [INPUT_IDS.role]: { [ACTION_IDS.pickRole]: choice(roleId) },
  [INPUT_IDS.duration]: { [INPUT_IDS.duration]: choice(duration) },
  [INPUT_IDS.reason]: { [INPUT_IDS.reason]: text(reason) },
});

describe('the Slack experience', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  describe('the request modal', () => {
    it('/jit alone opens the form with only the roles this person may request, grouped by provider', async () => {
      const answer = await bot.command('U0ALICE', '');
      expect(answer.status).toBe(200);
      const opened = await bot.waitForModal(VIEW_IDS.request);
      const roleMenu = elementOf(inputBlock(opened, INPUT_IDS.role));
      expect(roleMenu.action_id).toBe(ACTION_IDS.pickRole);
      const groups = roleMenu.option_groups as Json[];
      expect(groups.map((group) => (group.label as Json).text)).toEqual(['Dry run (no cloud)']);
      const offered = optionValues(roleMenu);
      expect(offered).toContain('sandbox-admin');
      // Only Bob may request `restricted`.
      expect(offered).not.toContain('restricted');
      expect(inputBlock(opened, INPUT_IDS.reason)).toBeDefined();
    });

    it('picking a role redraws the duration menu within that role and preselects its default', async () => {
      await bot.command('U0ALICE', '');
      const opened = await bot.waitForModal(VIEW_IDS.request);
      await bot.pressInModal('U0ALICE', opened, ACTION_IDS.pickRole, 'prod-db-read', {
        kind: 'static_select',
        values: { [INPUT_IDS.reason]: { [INPUT_IDS.reason]: text('half-typed reason') } },
      });
      const updated = await bot.slack.waitFor('views.update');
      expect(updated.args.view_id).toBe((opened.response as { view: { id: string } }).view.id);
      const durations = elementOf(inputBlock(updated, INPUT_IDS.duration));
      const values = optionValues(durations);
      expect(values).toContain('2h');
      expect(values).not.toContain('4h');
      expect((durations.initial_option as Json).value).toBe('1h');
      // What the person already typed survives the redraw.
      expect(elementOf(inputBlock(updated, INPUT_IDS.reason)).initial_value).toBe('half-typed reason');
    });

    it('shows a missing ticket next to the reason field and stores nothing', async () => {
      await bot.command('U0ALICE', '');
      const opened = await bot.waitForModal(VIEW_IDS.request);
      const answer = await bot.submitModal('U0ALICE', opened, formValues('ticketed', '1h', 'just because'));
      const json = answer.json as { response_action?: string; errors?: Record<string, string> };
      expect(json.response_action).toBe('errors');
      expect(Object.keys(json.errors ?? {})).toEqual([INPUT_IDS.reason]);
      expect(json.errors?.[INPUT_IDS.reason]).toContain('ticket reference');
      expect(await bot.container.requests.openRequests('U0ALICE')).toEqual([]);
    });

    it('shows a duration above the maximum next to the duration field', async () => {
      await bot.command('U0ALICE', '');
      const opened = await bot.waitForModal(VIEW_IDS.request);
      const answer = await bot.submitModal('U0ALICE', opened, formValues('prod-db-read', '4h', 'reports'));
      const json = answer.json as { response_action?: string; errors?: Record<string, string> };
      expect(json.response_action).toBe('errors');
      expect(json.errors?.[INPUT_IDS.duration]).toContain('at most 2h');
    });

    it('a valid form files the request, says so in the modal and posts the approval message', async () => {
      await bot.command('U0ALICE', '');
      const opened = await bot.waitForModal(VIEW_IDS.request);
      const answer = await bot.submitModal('U0ALICE', opened, formValues('sandbox-admin', '2h', 'debugging INC-42'));
      const json = answer.json as { response_action?: string; view?: Json };
      expect(json.response_action).toBe('update');
      const [request] = await bot.container.requests.openRequests('U0ALICE');
      expect(request).toMatchObject({ roleId: 'sandbox-admin', durationMs: 2 * 3_600_000, reason: 'debugging INC-42' });
      expect(JSON.stringify(json.view)).toContain(request?.id);
      await bot.approvalMessage(request?.id ?? '');
    });

    it('/jit request with missing pieces opens the form prefilled with what was given', async () => {
      const answer = await bot.command('U0ALICE', 'request sandbox-admin 2h');
      expect(answer.status).toBe(200);
      const opened = await bot.waitForModal(VIEW_IDS.request);
      expect((elementOf(inputBlock(opened, INPUT_IDS.role)).initial_option as Json).value).toBe('sandbox-admin');
      expect((elementOf(inputBlock(opened, INPUT_IDS.duration)).initial_option as Json).value).toBe('2h');
      expect(await bot.container.requests.openRequests('U0ALICE')).toEqual([]);
    });

    it('the global shortcut and the App Home button open the same form', async () => {
      const triggerId = '1700000999.1.shortcut';
      await postSigned(
        bot.eventsUrl,
        shortcutBody({ userId: 'U0ALICE', callbackId: SHORTCUT_IDS.requestAccess, triggerId }),
        bot.signingSecret,
      );
      const fromShortcut = await bot.waitForModal(VIEW_IDS.request, triggerId);
      const pressed = await bot.pressInHome('U0ALICE', ACTION_IDS.openRequestModal, 'home');
      expect(pressed.status).toBe(200);
      const fromHome = await bot.slack.waitFor(
        (call) => call.method === 'views.open' && call.args.trigger_id !== triggerId,
        { description: 'the request form opened from the App Home button, on its own trigger' },
      );
      // The same form: callback, title, blocks (the roles Alice may request, durations, reason), metadata.
      expect(viewOf(fromHome)).toEqual(viewOf(fromShortcut));
      expect(viewOf(fromHome).callback_id).toBe(VIEW_IDS.request);
      expect(optionValues(elementOf(inputBlock(fromHome, INPUT_IDS.role)))).toContain('sandbox-admin');
    });

    it('the typed one-line command still files at once', async () => {
      const reply = await bot.commandText('U0ALICE', 'request sandbox-admin 2h debugging INC-42');
      expect(reply).toContain('is filed');
    });
  });

  describe('deciding', () => {
    it('Deny opens a modal for a reason the requester, the thread and the message all show', async () => {
      const id = await bot.request('U0ALICE', 'sandbox-admin 1h debugging');
      await bot.approvalMessage(id);
      const answer = await bot.deny('U0LEAD', id, 'use the read-only role');
      expect(answer.status).toBe(200);
      const denied = await bot.waitForState(id, 'denied');
      expect(denied.denialReason).toBe('use the read-only role');
      await bot.waitForDm('U0ALICE', 'use the read-only role');
      await bot.slack.waitFor(
        (call) =>
          call.method === 'chat.postMessage' &&
          call.args.thread_ts !== undefined &&
          String(call.args.text).includes('use the read-only role'),
        { description: 'thread reply with the denial reason' },
      );
      await bot.slack.waitFor(
        (call) => call.method === 'chat.update' && JSON.stringify(call.args.blocks).includes('use the read-only role'),
        { description: 'approval message showing the denial reason' },
      );
    });

    it('a requester clicking Deny on their own request is refused at once, without a modal', async () => {
      const id = await bot.request('U0ALICE', 'sandbox-admin 1h debugging');
      await bot.approvalMessage(id);
      await bot.click('U0ALICE', 'deny', id);
      await bot.waitForEphemeral('U0ALICE', 'cancel');
      expect(bot.slack.calls('views.open')).toEqual([]);
      expect((await bot.container.store.get(id))?.state).toBe('pending');
    });

    it('approvers who have not acted are reminded once in the thread before the timeout', async () => {
      const id = await bot.request('U0ALICE', 'slow-approval 1h debugging');
      const message = await bot.approvalMessage(id);
      const reminder = await bot.slack.waitFor(
        (call) =>
          call.method === 'chat.postMessage' &&
          call.args.thread_ts === (message.response as { ts: string }).ts &&
          String(call.args.text).includes(':bell:'),
        { description: 'approval reminder in the thread' },
      );
      expect(String(reminder.args.text)).toContain('<@U0LEAD>');
      expect(String(reminder.args.text)).toContain('<@U0SEC>');
      await bot.waitForState(id, 'timed-out');
      const reminders = bot.slack.calls('chat.postMessage').filter((call) => String(call.args.text).includes(':bell:'));
      expect(reminders).toHaveLength(1);
    });
  });

  describe('the App Home', () => {
    it('shows active grants with Extend and I’m done, and pending requests with Cancel', async () => {
      const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging', 'U0LEAD');
      const pending = await bot.request('U0ALICE', 'prod-db-read 1h reports');
      const home = await bot.openHome('U0ALICE');
      expect(viewOf(home).type).toBe('home');
      const buttons = buttonsOf(blocksOf(home));
      expect(buttons).toEqual(
        expect.arrayContaining([
          `${ACTION_IDS.extend}:${active.id}`,
          `${ACTION_IDS.done}:${active.id}`,
          `${ACTION_IDS.cancel}:${pending}`,
          `${ACTION_IDS.openRequestModal}:home`,
        ]),
      );
      expect(buttons).not.toContain(`${ACTION_IDS.approve}:${pending}`);
    });

    it('shows approvers what waits for them, and Approve there decides', async () => {
      const id = await bot.request('U0ALICE', 'sandbox-admin 1h debugging');
      await bot.approvalMessage(id);
      const home = await bot.openHome('U0LEAD');
      expect(buttonsOf(blocksOf(home))).toEqual(
        expect.arrayContaining([`${ACTION_IDS.approve}:${id}`, `${ACTION_IDS.deny}:${id}`]),
      );
      await bot.pressInHome('U0LEAD', ACTION_IDS.approve, id);
      const granted = await bot.waitForState(id, 'active');
      expect(granted.approvals.map((approval) => approval.userId)).toEqual(['U0LEAD']);
    });

    it('someone who is not an approver pressing Approve in their App Home is refused, and it changes nothing', async () => {
      const id = await bot.request('U0ALICE', 'sandbox-admin 1h debugging');
      await bot.approvalMessage(id);
      await bot.pressInHome('U0MALLORY', ACTION_IDS.approve, id);
      await bot.slack.waitFor(
        (call) => call.method === 'views.open' && JSON.stringify(call.args.view).includes('not an approver'),
        { description: 'refusal shown to Mallory in a modal' },
      );
      expect((await bot.container.store.get(id))?.approvals).toEqual([]);
      const refusals = await bot.container.auditLog.notes({ requestId: id, kind: 'refusal' });
      expect(refusals.map((note) => note.actor)).toEqual(['U0MALLORY']);
    });

    it('I’m done ends the grant now, and the requester’s home is redrawn after each change', async () => {
      await bot.openHome('U0ALICE');
      const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging', 'U0LEAD');
      await bot.slack.waitFor(
        (call) =>
          call.method === 'views.publish' &&
          call.args.user_id === 'U0ALICE' &&
          buttonsOf(blocksOf(call)).includes(`${ACTION_IDS.done}:${active.id}`),
        { description: 'home redrawn with the active grant' },
      );
      await bot.pressInHome('U0ALICE', ACTION_IDS.done, active.id);
      await bot.waitForState(active.id, 'revoked');
      expect(await bot.container.dryrun.grants()).toEqual([]);
      await bot.slack.waitFor(
        (call) =>
          call.method === 'views.publish' &&
          call.args.user_id === 'U0ALICE' &&
          !JSON.stringify(blocksOf(call)).includes(active.id),
        { description: 'home redrawn without the ended grant' },
      );
    });

    it('an App Home nobody has opened is not redrawn: it is drawn when first opened, then kept current', async () => {
      const published = (userId: string) =>
        bot.slack.calls('views.publish').filter((call) => call.args.user_id === userId).length;
      // Every redraw is a job of the notify queue named for the person: none was queued for the newcomer.
      const homeJobsOf = async (userId: string) =>
        (await bot.container.queues.notify.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed'])).filter(
          (job) => job.id?.startsWith(`home-${userId}-`),
        ).length;
      await bot.openHome('U0LEAD');
      const shownToLead = published('U0LEAD');
      await bot.requestApproved('U0NEWCOMER', 'sandbox-admin 1h first look', 'U0LEAD');
      // The approver's App Home is redrawn by the same step that would have redrawn the newcomer's.
      await eventually(() => published('U0LEAD') > shownToLead, "the approver's App Home redrawn");
      expect(await homeJobsOf('U0LEAD')).toBeGreaterThan(0);
      expect(await homeJobsOf('U0NEWCOMER')).toBe(0);
      expect(published('U0NEWCOMER')).toBe(0);

      await bot.openHome('U0NEWCOMER');
      expect(published('U0NEWCOMER')).toBe(1);
      const second = await bot.request('U0NEWCOMER', 'sandbox-admin 1h second look');
      await bot.slack.waitFor(
        (call) =>
          call.method === 'views.publish' &&
          call.args.user_id === 'U0NEWCOMER' &&
          JSON.stringify(blocksOf(call)).includes(second),
        { description: 'the opened App Home redrawn with the new request' },
      );
    });

    it('a click in an App Home the bot never saw opened (say, opened before an upgrade) keeps it current from then on', async () => {
      const first = await bot.requestApproved('U0RETURNING', 'sandbox-admin 1h first look', 'U0LEAD');
      // Pressing "I'm done" there: the bot redraws that App Home at once, and from now on after every change.
      await bot.pressInHome('U0RETURNING', ACTION_IDS.done, first.id);
      await bot.waitForState(first.id, 'revoked');
      const second = await bot.request('U0RETURNING', 'sandbox-admin 1h second look');
      await bot.slack.waitFor(
        (call) =>
          call.method === 'views.publish' &&
          call.args.user_id === 'U0RETURNING' &&
          JSON.stringify(blocksOf(call)).includes(second),
        { description: 'the App Home redrawn with the new request' },
      );
    });

    it('someone else pressing I’m done on a grant that is not theirs is refused', async () => {
      const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging', 'U0LEAD');
      await bot.pressInHome('U0MALLORY', ACTION_IDS.done, active.id);
      await bot.slack.waitFor(
        (call) => call.method === 'views.open' && JSON.stringify(call.args.view).includes('Only <@U0ALICE>'),
        { description: 'refusal shown to Mallory' },
      );
      expect((await bot.container.store.get(active.id))?.state).toBe('active');
    });
  });

  describe('extending', () => {
    it('a self-extending role gets the new expiry on the same grant: it outlives its first expiry, then ends', async () => {
      const id = await bot.request('U0ALICE', 'self-extending 4s testing');
      const first = await bot.waitForState(id, 'active');
      await bot.pressInHome('U0ALICE', ACTION_IDS.extend, id);
      const opened = await bot.waitForModal(VIEW_IDS.extend);
      const answer = await bot.submitModal('U0ALICE', opened, {
        [INPUT_IDS.duration]: { [INPUT_IDS.duration]: choice('4s') },
      });
      expect((answer.json as { response_action?: string }).response_action).toBe('update');
      await bot.waitForDm('U0ALICE', 'is extended until');
      const extended = await bot.container.store.get(id);
      expect(extended?.expiresAt).toBe((first.expiresAt ?? 0) + 4_000);
      expect(await bot.container.dryrun.grants()).toHaveLength(1);
      // Past the first expiry, still active and still granted.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (first.expiresAt ?? 0) + 1_000 - Date.now())));
      expect((await bot.container.store.get(id))?.state).toBe('active');
      expect(await bot.container.dryrun.grants()).toHaveLength(1);
      const ended = await bot.waitForExpiry(extended ?? first, 15_000);
      expect(ended.endedAt ?? 0).toBeGreaterThanOrEqual(extended?.expiresAt ?? 0);
      expect(await bot.container.dryrun.grants()).toEqual([]);
    });

    it('an extension of an approval-gated role waits for an approver, then moves the expiry', async () => {
      const active = await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging', 'U0LEAD');
      await bot.pressInHome('U0ALICE', ACTION_IDS.extend, active.id);
      const opened = await bot.waitForModal(VIEW_IDS.extend);
      await bot.submitModal('U0ALICE', opened, {
        [INPUT_IDS.duration]: { [INPUT_IDS.duration]: choice('1h') },
        [INPUT_IDS.reason]: { [INPUT_IDS.reason]: text('the fix needs another hour') },
      });
      const [extension] = (await bot.container.requests.openRequests('U0ALICE')).filter((r) => r.extends === active.id);
      expect(extension?.state).toBe('pending');
      expect((await bot.container.store.get(active.id))?.expiresAt).toBe(active.expiresAt);
      await bot.approvalMessage(extension?.id ?? '');
      await bot.click('U0LEAD', 'approve', extension?.id ?? '');
      await bot.waitForState(extension?.id ?? '', 'applied');
      expect((await bot.container.store.get(active.id))?.expiresAt).toBe((active.expiresAt ?? 0) + 3_600_000);
      expect(await bot.container.dryrun.grants()).toHaveLength(1);
    });

    it('refuses more than the role allows in total, in the modal', async () => {
      const id = await bot.request('U0ALICE', 'self-extending 50m testing');
      await bot.waitForState(id, 'active');
      await bot.pressInHome('U0ALICE', ACTION_IDS.extend, id);
      const opened = await bot.waitForModal(VIEW_IDS.extend);
      const answer = await bot.submitModal('U0ALICE', opened, {
        [INPUT_IDS.duration]: { [INPUT_IDS.duration]: choice('30m') },
      });
      const json = answer.json as { response_action?: string; errors?: Record<string, string> };
      expect(json.response_action).toBe('errors');
      expect(json.errors?.[INPUT_IDS.duration]).toContain('at most 10m');
      expect((await bot.container.store.get(id))?.extensionsApplied).toBeUndefined();
    });
  });

  describe('reminders', () => {
    it('the holder gets one reminder DM before expiry, with Extend and I’m done', async () => {
      const id = await bot.request('U0ALICE', 'staging-deployer 5s deploy');
      await bot.waitForState(id, 'active');
      const reminder = await bot.slack.waitFor(
        (call) =>
          call.method === 'chat.postMessage' &&
          call.args.channel === 'U0ALICE' &&
          buttonsOf((call.args.blocks ?? []) as Json[]).includes(`${ACTION_IDS.extend}:${id}`),
        { description: 'expiry reminder DM' },
      );
      expect(buttonsOf(reminder.args.blocks as Json[])).toContain(`${ACTION_IDS.done}:${id}`);
      expect(String(reminder.args.text)).toContain('staging-deployer');
      // I'm done from the DM ends it early.
      await bot.press('U0ALICE', ACTION_IDS.done, id, { channelId: 'D0ALICE' });
      await bot.waitForState(id, 'revoked');
      await bot.waitForEphemeral('U0ALICE', 'Ending your access');
    });
  });
});
