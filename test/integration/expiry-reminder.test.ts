/** The expiry reminder comes from the grant's one revoke job; reminder jobs of an earlier version still work. */
import type { AccessRequest } from '../../src/domain/access-request';
import { REVOKE_JOB_BACKSTOP_MS } from '../../src/domain/expiry-reminder';
import { jobIds } from '../../src/jobs/queues';
import { ACTION_IDS } from '../../src/slack/ids';
import { eventually } from '../support/eventually';
import type { RecordedCall } from '../support/fake-slack-api';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const REMINDER_BEFORE_MS = 3_000;
const POLICY = TEST_POLICY.replace('settings:\n', `settings:\n  reminderBefore: ${REMINDER_BEFORE_MS / 1000}s\n`);

type Json = Record<string, unknown>;

/** The expiry reminder DM of the request: the one DM carrying its Extend button. */
const isReminderOf = (requestId: string) => (call: RecordedCall) =>
  call.method === 'chat.postMessage' &&
  call.args.channel === 'U0ALICE' &&
  ((call.args.blocks ?? []) as Json[])
    .filter((block) => block.type === 'actions')
    .flatMap((block) => block.elements as Json[])
    .some((element) => element.action_id === ACTION_IDS.extend && element.value === requestId);

describe('the expiry reminder', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  const reminders = (requestId: string) => bot.slack.calls('chat.postMessage').filter(isReminderOf(requestId));

  /** IDs of the delayed jobs about the request, across the revoke and notify queues. */
  async function delayedJobsOf(requestId: string): Promise<string[]> {
    const { revoke, notify } = bot.container.queues;
    const delayed = [...(await revoke.getDelayed()), ...(await notify.getDelayed())];
    return delayed.map((job) => String(job.id)).filter((id) => id.includes(requestId));
  }

  /** When the revoke job of the request is due (it must be delayed): BullMQ scores it timestamp·4096 + a counter. */
  async function revokeDueAt(requestId: string): Promise<number> {
    const { revoke } = bot.container.queues;
    const score = await bot.container.redis.zscore(
      `${revoke.opts.prefix}:${revoke.name}:delayed`,
      jobIds.revoke(requestId),
    );
    if (score === null) throw new Error(`revoke-${requestId} is not delayed`);
    return Math.floor(Number(score) / 0x1000);
  }

  async function activeGrant(duration: string): Promise<AccessRequest> {
    const id = await bot.request('U0ALICE', `staging-deployer ${duration} deploy`);
    return bot.waitForState(id, 'active');
  }

  it('one delayed job per active grant: it reminds before the expiry; the expiry sweep ends the grant at it', async () => {
    const grant = await activeGrant('8s');
    const expiresAt = grant.expiresAt ?? 0;
    // Notices waiting out a retry (the approval message first) are delayed too, for a moment.
    await eventually(
      async () => (await delayedJobsOf(grant.id)).every((id) => !id.startsWith('notice-')),
      'the notices of the activation delivered',
    );
    expect(await delayedJobsOf(grant.id)).toEqual([jobIds.revoke(grant.id)]);
    // BullMQ adds the delay to its own reading of the clock, taken a moment after the bot's.
    const dueAt = await revokeDueAt(grant.id);
    expect(dueAt).toBeGreaterThanOrEqual(expiresAt - REMINDER_BEFORE_MS);
    expect(dueAt).toBeLessThan(expiresAt - REMINDER_BEFORE_MS + 1_000);

    await bot.slack.waitFor(isReminderOf(grant.id), { description: 'expiry reminder DM', timeoutMs: 15_000 });
    expect((await bot.container.store.get(grant.id))?.state).toBe('active');
    // The same job sleeps on until its backstop; the expiry sweep ends the grant at the expiry.
    await eventually(
      async () =>
        (await delayedJobsOf(grant.id)).length === 1 &&
        (await revokeDueAt(grant.id)) === expiresAt + REVOKE_JOB_BACKSTOP_MS,
      'the revoke job delayed until its backstop',
    );

    const ended = await bot.waitForState(grant.id, 'expired', 15_000);
    expect(ended.endedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(reminders(grant.id)).toHaveLength(1);
    expect(bot.logs.filter((line) => line.msg === 'expiry sweep finished')).toEqual([
      expect.objectContaining({ due: 1, ended: 1, handedOff: 0 }),
    ]);
  });

  it('a rerun of the revoke job between the reminder and the expiry does not remind twice', async () => {
    const grant = await activeGrant('8s');
    await bot.slack.waitFor(isReminderOf(grant.id), { description: 'expiry reminder DM', timeoutMs: 15_000 });
    const backstop = (grant.expiresAt ?? 0) + REVOKE_JOB_BACKSTOP_MS;
    await eventually(
      async () => (await revokeDueAt(grant.id)) === backstop,
      'the revoke job delayed until its backstop',
    );
    // As a stalled job taken up again, or one moved to now: it runs again before the expiry.
    await (await bot.container.queues.revoke.getJob(jobIds.revoke(grant.id)))?.promote();
    await eventually(
      async () => (await revokeDueAt(grant.id).catch(() => 0)) === backstop,
      'the rerun put the job back to sleep',
    );
    await bot.waitForState(grant.id, 'expired', 15_000);
    await eventually(async () => (await bot.container.queues.notify.getWaitingCount()) === 0, 'notices drained');
    // Both runs found the reminder due and queued it; the second was the same notice, so nothing was added.
    expect(
      bot.logs.filter((line) => line.msg === 'expiry reminder queued' && line.requestId === grant.id),
    ).toHaveLength(2);
    expect(reminders(grant.id)).toHaveLength(1);
  });

  it('a reminder job queued by an earlier version is still delivered, once, with the revoke job at the expiry', async () => {
    const grant = await activeGrant('8s');
    const expiresAt = grant.expiresAt ?? 0;
    const remindAt = expiresAt - REMINDER_BEFORE_MS;
    const { revoke, notify } = bot.container.queues;
    // What an earlier version left for this grant: its revoke job due at the expiry and a reminder job of its own.
    // The grant job schedules the revoke job just after the request turns active: wait for it to be there.
    await eventually(async () => (await revoke.getJob(jobIds.revoke(grant.id))) !== undefined, 'the revoke job');
    await (await revoke.getJob(jobIds.revoke(grant.id)))?.changeDelay(expiresAt - Date.now());
    await notify.add(
      'expiry-reminder',
      { requestId: grant.id, kind: 'expiry-reminder', version: grant.version },
      { jobId: jobIds.reminder(grant.id, 'expiry-reminder', remindAt), delay: remindAt - Date.now() },
    );

    const reminder = await bot.slack.waitFor(isReminderOf(grant.id), {
      description: 'expiry reminder DM from the old job',
      timeoutMs: 15_000,
    });
    expect(String(reminder.args.text)).toContain('staging-deployer');
    await bot.waitForState(grant.id, 'expired', 15_000);
    expect(reminders(grant.id)).toHaveLength(1);
  });
});
