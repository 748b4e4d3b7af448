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

describe('Slack rate limits', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('a 429 pauses notices for its Retry-After; each part is then delivered once, no attempt used up', async () => {
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
    const notify = bot.container.queues.notify;
    for (let tries = 0; tries < 500; tries += 1) {
      const counts = await notify.getJobCounts('waiting', 'active', 'prioritized');
      if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const posts = bot.slack.calls('chat.postMessage');
    expect(posts.filter((call) => call.status === 429)).toHaveLength(2);
    const delivered = posts.filter(succeeded);
    expect(delivered.filter((call) => call.args.channel === 'U0ALICE')).toHaveLength(1);
    expect(
      delivered.filter((call) => call.args.channel === 'C0APPROVALS' && call.args.thread_ts === undefined),
    ).toHaveLength(1);
    expect(bot.logs.filter((line) => line.msg === 'Slack is rate limiting; notices wait').length).toBeGreaterThan(0);
    // Put back without using an attempt: nothing failed for good.
    expect(bot.logs.filter((line) => line.msg === 'job failed for good')).toEqual([]);
    const metrics = (await bot.container.metrics.exposition()).body;
    expect(metrics).toMatch(/^jit_slack_rate_limited_total [1-9]/m);
  });

  it('while Slack keeps refusing notices, grants still expire and are revoked on time', async () => {
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
    bot.slack.failNext('chat.postMessage', rateLimited(1), 1);
    const id = await bot.request('U0ALICE', 'emergency 1h prod is down');
    const posted = await bot.slack.waitFor(
      (call) => call.method === 'chat.postMessage' && call.args.channel === ADMIN_CHANNEL && succeeded(call),
      { description: 'break-glass alert in the admin channel', timeoutMs: 15_000 },
    );
    expect(String(posted.args.text)).toContain(id);
    // Raised by the request, posted by the notify queue's job.
    for (let tries = 0; tries < 50 && !bot.logs.some((line) => line.msg === 'alert posted'); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const posting = bot.logs.find((line) => line.msg === 'alert posted');
    expect(posting).toBeDefined();
  });
});
