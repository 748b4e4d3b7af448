import { eventually } from '../support/eventually';
import { parseExposition, scrapeMetrics, waitForMetrics } from '../support/prometheus-text';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

describe('operations endpoints on the Slack port', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('answers /healthz and /readyz when Redis answers and the workers run', async () => {
    const health = await fetch(`${bot.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${bot.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('content-type')).toBe('application/json');
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('exposes requests by state, active grants, queue depths and ack latency through a request → expiry cycle', async () => {
    const before = await scrapeMetrics(bot.baseUrl);
    expect(before.types.get('jit_requests')).toBe('gauge');
    expect(before.types.get('jit_revocation_lateness_seconds')).toBe('histogram');
    expect(before.types.get('jit_job_failures_total')).toBe('counter');
    expect(before.types.get('jit_slack_ack_seconds')).toBe('histogram');
    expect(before.value('jit_requests', { state: 'pending' })).toBe(0);
    expect(before.value('jit_grants_active')).toBe(0);
    expect(before.value('jit_irrevocable_grants')).toBe(0);
    expect(before.value('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);

    const slackRequests = 2; // the /jit command and the Approve click
    const id = await bot.request('U0ALICE', 'sandbox-admin 3s metrics walk');
    const pending = await waitForMetrics(
      bot.baseUrl,
      (m) => m.value('jit_queue_jobs', { queue: 'jit-approval-timeout', state: 'delayed' }) === 1,
    );
    expect(pending.value('jit_requests', { state: 'pending' })).toBe(1);

    await bot.approvalMessage(id);
    expect((await bot.click('U0LEAD', 'approve', id)).status).toBe(200);
    const active = await bot.waitForState(id, 'active');
    const during = await waitForMetrics(
      bot.baseUrl,
      (m) => m.value('jit_queue_jobs', { queue: 'jit-grant', state: 'completed' }) === 1,
    );
    expect(during.value('jit_requests', { state: 'pending' })).toBe(0);
    expect(during.value('jit_requests', { state: 'active' })).toBe(1);
    expect(during.value('jit_grants_active')).toBe(1);
    expect(during.value('jit_queue_jobs', { queue: 'jit-revoke', state: 'delayed' })).toBe(1);

    await bot.waitForExpiry(active);
    const after = await waitForMetrics(
      bot.baseUrl,
      (m) =>
        m.value('jit_queue_jobs', { queue: 'jit-revoke', state: 'completed' }) === 1 &&
        m.all('jit_slack_ack_seconds_count').reduce((sum, sample) => sum + sample.value, 0) >= slackRequests,
    );
    expect(after.value('jit_requests', { state: 'active' })).toBe(0);
    expect(after.value('jit_requests', { state: 'expired' })).toBe(1);
    expect(after.value('jit_grants_active')).toBe(0);
    // The expiry sweep ended it (the completed job); the grant's own job waits as the backstop, to find it ended.
    expect(after.value('jit_queue_jobs', { queue: 'jit-revoke', state: 'delayed' })).toBe(1);
    expect(after.value('jit_revocation_lateness_seconds_count')).toBe(1);
    expect(after.value('jit_slack_ack_seconds_count', { kind: 'command' })).toBe(1);
    expect(after.value('jit_slack_ack_seconds_count', { kind: 'action' })).toBe(1);
    // Health checks and scrapes are not Slack requests.
    expect(after.value('jit_slack_ack_seconds_count', { kind: 'other' })).toBeUndefined();
  });

  it('counts the grants in the irrevocable set', async () => {
    await bot.container.redis.sadd(bot.container.keys.irrevocable(), 'aaaa1111', 'bbbb2222');
    expect((await scrapeMetrics(bot.baseUrl)).value('jit_irrevocable_grants')).toBe(2);
  });

  it('reports job failures by queue', async () => {
    bot.container.metrics.countJobFailure('jit-revoke');
    const metrics = await scrapeMetrics(bot.baseUrl);
    expect(metrics.value('jit_job_failures_total', { queue: 'jit-revoke' })).toBe(1);
  });

  it('warns at start-up that the test Redis runs without AOF', () => {
    const warning = bot.logs.find((line) => line.level === 'warn' && String(line.msg).includes('AOF off'));
    expect(String(warning?.msg)).toContain('jobs scheduled since the last snapshot');
    expect(warning?.redis).toEqual({ maxmemoryPolicy: 'noeviction', aofEnabled: false });
  });
});

describe('readiness when Redis goes away', () => {
  let redis: RedisServerHandle;
  let bot: TestBot;
  beforeAll(async () => {
    redis = await startRedisServer();
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS, env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await bot.stop();
    await redis.stop();
  });

  it('turns /readyz to 503 naming Redis, while /healthz and /metrics still answer', async () => {
    expect((await fetch(`${bot.baseUrl}/readyz`)).status).toBe(200);

    await redis.stop();

    const ready = await fetch(`${bot.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', checks: { redis: 'unreachable', workers: 'ok' } });
    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);

    const response = await fetch(`${bot.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    const metrics = parseExposition(await response.text());
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    // What cannot be read now is left out rather than reported stale or as zero.
    expect(metrics.all('jit_requests')).toEqual([]);
    expect(metrics.all('jit_grants_active')).toEqual([]);
    expect(metrics.all('jit_queue_jobs')).toEqual([]);

    // Back on the same port, the bot's connections find it again (and the bot can stop cleanly).
    redis = await startRedisServer({ port: redis.port });
    let status = 0;
    await eventually(
      async () => {
        status = (await fetch(`${bot.baseUrl}/readyz`)).status;
        return status === 200;
      },
      '/readyz answers 200 again',
      { intervalMs: 50, detail: () => `it last answered ${status}` },
    );

    // BullMQ's Worker.close() never resolves while a worker's blocking connection is still reconnecting
    // (taskforcesh/bullmq#4656); each worker names its connection once it is back, so wait for all of them.
    for (const queue of Object.values(bot.container.queues)) {
      await eventually(async () => (await queue.getWorkers()).length > 0, `the ${queue.name} worker reconnected`, {
        intervalMs: 50,
      });
    }
  });
});
