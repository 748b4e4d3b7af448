import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { eventually } from '../support/eventually';
import type { RecordedCall } from '../support/fake-slack-api';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const ADMIN_CHANNEL = 'C0ADMINS';
const POLICY = `${TEST_POLICY.replace('settings:\n', `settings:\n  adminChannel: ${ADMIN_CHANNEL}\n`)}
  - id: emergency
    description: Break-glass access
    provider: dryrun
    approvalChannel: C0APPROVALS
    breakGlass: true
`;
const succeeded = (call: RecordedCall) => call.status === 200 && (call.response as { ok?: boolean }).ok === true;
const rateLimited = (retryAfterSeconds: number) => ({
  status: 429,
  headers: { 'Retry-After': String(retryAfterSeconds) },
});

/** Every job of the queue, whatever its state. */
const allJobs = (bot: TestBot): Promise<Job[]> =>
  bot.container.queues.notify.getJobs(['completed', 'failed', 'delayed', 'waiting', 'active', 'prioritized']);

/**
 * Waits until no notify job is waiting or running (delayed ones, e.g. reminders, stay delayed); a queue that never
 * drains fails the test, saying what was still in it.
 */
async function notifyQueueSettled(bot: TestBot): Promise<void> {
  let counts: Record<string, number> = {};
  await eventually(
    async () => {
      counts = await bot.container.queues.notify.getJobCounts('waiting', 'active', 'prioritized');
      return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0;
    },
    'the notify queue has no waiting or running job',
    { detail: () => `still in it: ${JSON.stringify(counts)}` },
  );
}

/** Jobs put back by a 429, once per time they were put back. */
const putBack = (bot: TestBot) =>
  bot.logs.filter((line) => line.msg === 'Slack is rate limiting; notices wait').map((line) => String(line.jobId));

describe('Slack rate limits', () => {
  let bot: TestBot;
  const start = async (policyYaml = POLICY, env?: Record<string, string>) => {
    bot = await startTestBot({ policyYaml, usergroups: USERGROUPS, ...(env !== undefined && { env }) });
    return bot;
  };
  afterEach(async () => {
    await bot?.stop();
  });

  it('a 429 pauses notices for its Retry-After; each part is then delivered once, no attempt used up', async () => {
    await start();
    bot.slack.failNext('chat.postMessage', rateLimited(1), 2);
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    await bot.waitForState(id, 'active');
    await bot.slack.waitFor((call) => call.args.channel === 'U0ALICE' && succeeded(call), {
      description: 'the activation DM, delivered',
      timeoutMs: 15_000,
    });
    await bot.slack.waitFor(
      (call) => call.args.channel === 'C0APPROVALS' && call.args.thread_ts === undefined && succeeded(call),
      { description: 'the approval message, delivered', timeoutMs: 15_000 },
    );
    // Every notice due now has run (the expiry reminder stays delayed), so nothing more can be posted twice.
    await notifyQueueSettled(bot);
    const posts = bot.slack.calls('chat.postMessage');
    expect(posts.filter((call) => call.status === 429)).toHaveLength(2);
    const delivered = posts.filter(succeeded);
    expect(delivered.filter((call) => call.args.channel === 'U0ALICE')).toHaveLength(1);
    expect(
      delivered.filter((call) => call.args.channel === 'C0APPROVALS' && call.args.thread_ts === undefined),
    ).toHaveLength(1);
    // Put back without using an attempt: every start of a job counted as one, except those a 429 put back.
    const back = putBack(bot);
    expect(back.length).toBeGreaterThan(0);
    for (const job of await allJobs(bot)) {
      if (!back.includes(String(job.id))) continue;
      const timesPutBack = back.filter((jobId) => jobId === job.id).length;
      expect({ job: job.name, attemptsMade: job.attemptsMade }).toEqual({
        job: job.name,
        attemptsMade: job.attemptsStarted - timesPutBack,
      });
    }
    expect(bot.logs.filter((line) => line.msg === 'job failed for good')).toEqual([]);
    const metrics = (await bot.container.metrics.exposition()).body;
    expect(metrics).toMatch(/^jit_slack_rate_limited_total [1-9]/m);
  });

  it('a notice put back by a 429 does not redo the parts it had already delivered', async () => {
    await start();
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h fix the deploy');
    await bot.approvalMessage(id);
    await notifyQueueSettled(bot);
    bot.slack.clear();
    // Each notice from here on first updates the approval message, then posts; the first post meets a 429.
    bot.slack.failNext('chat.postMessage', rateLimited(1), 1);
    await bot.click('U0LEAD', 'approve', id);
    await bot.waitForState(id, 'active');
    await bot.slack.waitForCount(
      (call) => call.method === 'chat.postMessage' && call.args.thread_ts !== undefined && succeeded(call),
      2,
      { description: 'the approved and activated thread replies', timeoutMs: 15_000 },
    );
    await notifyQueueSettled(bot);

    expect(putBack(bot)).toHaveLength(1);
    const notices = (await allJobs(bot)).filter((job) => job.name === 'approved' || job.name === 'activated');
    expect(notices).toHaveLength(2);
    // One update of the approval message per notice: the one put back kept the update it had made.
    expect(bot.slack.calls('chat.update').filter(succeeded)).toHaveLength(notices.length);
    const replies = bot.slack.calls('chat.postMessage').filter((call) => call.args.thread_ts !== undefined);
    expect(replies.filter(succeeded)).toHaveLength(notices.length);
  });

  it('while Slack keeps refusing notices, grants still expire and are revoked on time', async () => {
    await start();
    // Every post is refused for now.
    bot.slack.failNext('chat.postMessage', rateLimited(60), 10_000);
    const id = await bot.request('U0ALICE', 'staging-deployer 2s deploy');
    await bot.waitForState(id, 'active');
    const ended = await bot.waitForState(id, 'expired', 15_000);
    expect(await bot.container.dryrun.grants()).toEqual([]);
    expect(ended.endedAt).toBeDefined();
    // The notices are held back, not dropped.
    expect(bot.slack.calls('chat.postMessage').filter((call) => call.status === 429).length).toBeGreaterThan(0);
    expect(await bot.container.queues.notify.getFailedCount()).toBe(0);
    expect(await bot.container.queues.notify.getWaitingCount()).toBeGreaterThan(0);
  });

  it('alerts are queued like notices: a rate-limited admin channel does not lose them', async () => {
    await start();
    bot.slack.failNext('chat.postMessage', rateLimited(1), 1);
    const id = await bot.request('U0ALICE', 'emergency 1h prod is down');
    const posted = await bot.slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL && succeeded(call),
      { description: 'break-glass alert in the admin channel', timeoutMs: 15_000 },
    );
    expect(String(posted.args.text)).toContain(id);
    // Raised by the request, posted by the notify queue's job.
    await eventually(
      () => bot.logs.some((line) => line.msg === 'alert posted'),
      'the notify job logged "alert posted"',
    );
  });

  it('an alert raised by a job waits out a 429 in the notify queue; the job it came from is not held up', async () => {
    await start(POLICY.replace('settings:\n', 'settings:\n  reconcileEvery: 1s\n'));
    bot.slack.failNext('chat.postMessage', rateLimited(1), 2);
    // A dry-run grant the store does not know, past its expiry: the next sweep alerts (drift) and revokes it.
    const past = new Date(Date.now() - 60_000).toISOString();
    await bot.container.redis.hset(
      bot.container.keys.dryrunGrants(),
      'jit-orphan1',
      JSON.stringify({
        requestId: 'orphan1',
        roleId: 'staging-deployer',
        principal: 'U0ALICE',
        expiresAt: past,
        grantedAt: past,
      }),
    );

    const posted = await bot.slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL && succeeded(call),
      { description: 'drift alert in the admin channel', timeoutMs: 15_000 },
    );
    expect(String(posted.args.text)).toContain('orphan1');
    // The sweep that raised it went on to revoke the grant.
    await eventually(async () => (await bot.container.dryrun.grants()).length === 0, 'the orphan grant was revoked');
    expect((await bot.container.auditLog.notes({ requestId: 'orphan1', kind: 'reconciled' })).length).toBe(1);

    await notifyQueueSettled(bot);
    const adminPosts = bot.slack.calls('chat.postMessage').filter((call) => call.args.channel === ADMIN_CHANNEL);
    expect(adminPosts.filter((call) => call.status === 429)).toHaveLength(2);
    expect(adminPosts.filter(succeeded)).toHaveLength(1);
    // One alert job, put back twice by the 429s without using an attempt, then posted once.
    const alertJobs = (await allJobs(bot)).filter((job) => job.name === 'alert');
    expect(alertJobs.map((job) => ({ attemptsStarted: job.attemptsStarted, attemptsMade: job.attemptsMade }))).toEqual([
      { attemptsStarted: 3, attemptsMade: 1 },
    ]);
    expect(putBack(bot)).toEqual([String(alertJobs[0]?.id), String(alertJobs[0]?.id)]);
  });

  it('another bot process sharing the queue waits out the same Retry-After', async () => {
    const prefix = `jit-test-${randomUUID().slice(0, 8)}`;
    await start(POLICY, { JIT_REDIS_PREFIX: prefix });
    bot.slack.failNext('chat.postMessage', rateLimited(30), 10_000);
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    await bot.waitForState(id, 'active');
    await bot.slack.waitFor((call) => call.status === 429, { description: 'a 429', timeoutMs: 15_000 });

    // The second process's Slack would take every post, but the queue is paused for all its workers.
    const other = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS, env: { JIT_REDIS_PREFIX: prefix } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(other.slack.calls('chat.postMessage')).toEqual([]);
      expect(await bot.container.queues.notify.getWaitingCount()).toBeGreaterThan(0);
      expect(await bot.container.queues.notify.getRateLimitTtl()).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
  });
});
