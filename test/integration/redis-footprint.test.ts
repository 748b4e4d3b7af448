/** What the store and the job layer keep in Redis, and how many round trips a person's requests cost. */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { AccessRequest } from '../../src/domain/access-request';
import type { AuditEvent } from '../../src/domain/audit-event';
import type { Clock } from '../../src/domain/ports';
import { jobIds, QUEUE_NAMES } from '../../src/jobs/queues';
import {
  BullMqJobScheduler,
  closeQueues,
  createQueues,
  QUEUE_EVENTS_KEPT,
  type Queues,
} from '../../src/jobs/scheduler';
import { createLogger } from '../../src/lib/logger';
import { RedisKeys } from '../../src/store/keys';
import { RedisRequestStore } from '../../src/store/request-store';
import { eventually } from '../support/eventually';
import { startTestBot, type TestBot } from '../support/test-bot';
import { HOUR, makeRequest, T0 } from '../unit/fixtures';
import { TEST_POLICY, USERGROUPS } from './test-policy';

const logger = createLogger({ level: 'silent' });
const clock: Clock = { now: () => T0 };

function redisUrl(): string {
  const url = process.env.JIT_TEST_REDIS_URL;
  if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
  return url;
}

describe('the job layer in Redis', () => {
  let connection: Redis;
  let keys: RedisKeys;
  let queues: Queues;
  let scheduler: BullMqJobScheduler;
  const workers: Worker[] = [];

  beforeEach(() => {
    keys = new RedisKeys(`jit-test-${randomUUID().slice(0, 8)}`);
    connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    queues = createQueues(connection, keys.queuePrefix(), logger);
    scheduler = new BullMqJobScheduler(queues, clock, logger);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
    await closeQueues(queues);
    await connection.quit();
  });

  it('stores no keep-when-finished options in each job, and keeps a short event stream per queue', async () => {
    await scheduler.scheduleRevocation('k7m2xq9d', T0 + HOUR);
    const job = await queues.revoke.getJob(jobIds.revoke('k7m2xq9d'));
    expect(job?.opts).not.toHaveProperty('removeOnComplete');
    expect(job?.opts).not.toHaveProperty('removeOnFail');
    // Every field short enough that Redis keeps the waiting job as a listpack, not a hash table.
    const key = `${keys.queuePrefix()}:${QUEUE_NAMES.revoke}:${jobIds.revoke('k7m2xq9d')}`;
    expect(await connection.object('ENCODING', key)).toBe('listpack');
    const meta = await connection.hget(`${keys.queuePrefix()}:${QUEUE_NAMES.revoke}:meta`, 'opts.maxLenEvents');
    expect(meta).toBe(String(QUEUE_EVENTS_KEPT));
  });
});

describe("an active grant's jobs in Redis", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('are one delayed revoke job (it also reminds before the expiry): no reminder job, no delayed notice', async () => {
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    await bot.waitForState(id, 'active');
    await bot.waitForDm('U0ALICE', 'is active until');
    const { redis, queues } = bot.container;
    const prefix = queues.revoke.opts.prefix ?? 'bull';
    const noticesLeft = async () =>
      (await queues.notify.getJobs(['waiting', 'active', 'delayed'])).filter((job) => String(job.id).includes(id));
    // A notice waiting out a retry (for the approval message) is delayed for a moment too.
    await eventually(async () => (await noticesLeft()).length === 0, 'every notice of the activation delivered');

    // Every key of the job layer about this grant, measured: each is a real key (what it costs depends on Redis).
    const keys = (await redis.keys(`${prefix}:*`)).filter((key) => key.includes(id)).sort();
    const usage = Object.fromEntries(
      await Promise.all(keys.map(async (key) => [key, Number(await redis.call('MEMORY', 'USAGE', key))] as const)),
    );
    expect(Object.values(usage).every((bytes) => bytes > 0)).toBe(true);
    expect(keys.filter((key) => key.includes('reminder'))).toEqual([]);

    // What waits in Redis for the grant's life: its revoke job, in the revoke queue's delayed set, and nothing else.
    const delayedOf = async (queue: (typeof queues)[keyof typeof queues]) =>
      (await redis.zrange(`${prefix}:${queue.name}:delayed`, '0', '-1')).filter((jobId) => jobId.includes(id));
    expect(await delayedOf(queues.revoke)).toEqual([jobIds.revoke(id)]);
    for (const queue of Object.values(queues).filter((each) => each !== queues.revoke)) {
      expect(await delayedOf(queue)).toEqual([]);
    }
    const revokeKey = `${prefix}:${QUEUE_NAMES.revoke}:${jobIds.revoke(id)}`;
    expect(await redis.type(revokeKey)).toBe('hash');
    // Besides it, only finished jobs, of which the last hundred of each queue are kept: no key per notice.
    const lasting: string[] = [];
    for (const key of keys) {
      const [queueName, jobId] = key.slice(prefix.length + 1).split(':', 2);
      const queue = Object.values(queues).find((each) => each.name === queueName);
      if ((await queue?.getJobState(jobId ?? '')) !== 'completed') lasting.push(key);
    }
    expect(lasting).toEqual([revokeKey]);
    expect(usage[revokeKey]).toBeGreaterThan(0);
    // The store's own keys about the grant: the request's hash, which also keeps where its approval message is and
    // which parts of its notices were delivered.
    const storePrefix = bot.container.keys.prefix;
    const storeKeys = (await redis.keys(`${storePrefix}:*${id}*`)).filter((key) => !key.startsWith(`${prefix}:`));
    expect(storeKeys).toEqual([`${storePrefix}:request:${id}`]);
    expect(await redis.hget(storeKeys[0] ?? '', 'message')).toContain('"ts"');
  });

  it('a notice queued again once its job is gone posts nothing twice', async () => {
    const id = await bot.request('U0ALICE', 'staging-deployer 1h deploy');
    const active = await bot.waitForState(id, 'active');
    await bot.waitForDm('U0ALICE', 'is active until');
    const { queues } = bot.container;
    const jobId = jobIds.notice(id, 'activated', active.version);
    await eventually(async () => (await queues.notify.getJobState(jobId)) === 'completed', 'the notice delivered');
    const activationDms = () =>
      bot.slack
        .calls('chat.postMessage')
        .filter((call) => call.args.channel === 'U0ALICE' && String(call.args.text).includes('is active until'));
    const posted = bot.slack.calls('chat.postMessage').length;
    expect(activationDms()).toHaveLength(1);

    // As when the last hundred completed notices have moved on, and a retry of the grant job queues it again.
    await queues.notify.remove(jobId);
    await new BullMqJobScheduler(queues, clock, logger).scheduleNotice(id, 'activated', active.version);
    await eventually(async () => (await queues.notify.getJobState(jobId)) === 'completed', 'the notice ran again');
    expect(activationDms()).toHaveLength(1);
    expect(bot.slack.calls('chat.postMessage')).toHaveLength(posted);
  });
});

describe("a person's requests from the store", () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: RedisRequestStore;

  beforeEach(() => {
    redis = new Redis(redisUrl());
    keys = new RedisKeys(`jit-test-${randomUUID().slice(0, 8)}`);
    store = new RedisRequestStore(redis, keys, logger);
  });

  afterEach(async () => {
    await redis.quit();
  });

  const created = (request: AccessRequest): AuditEvent => ({
    requestId: request.id,
    from: 'none',
    to: request.state,
    actor: request.requesterId,
    reason: request.reason,
    at: request.createdAt,
  });

  it("read an approval message's place that an earlier version kept under a key of its own", async () => {
    const request = makeRequest({ id: 'eeee5555', createdAt: T0 });
    await store.create(request, created(request));
    const message = { channel: 'C0APPROVALS', ts: '1700000000.000100' };
    await redis.set(`${keys.prefix}:approval-message:${request.id}`, JSON.stringify(message));
    expect(await store.getApprovalMessage(request.id)).toEqual(message);
    expect((await store.forNotice(request.id, 'approved-v2'))?.approvalMessage).toEqual(message);
    // Written now, it goes to the request's hash, and is read from there first.
    const moved = { channel: 'C0APPROVALS', ts: '1700000000.000200' };
    await store.setApprovalMessage(request.id, moved);
    expect(await store.getApprovalMessage(request.id)).toEqual(moved);
  });

  it('come newest first in one round trip, only those in the states asked for', async () => {
    const pending = makeRequest({ id: 'aaaa1111', createdAt: T0 });
    const active = makeRequest({ id: 'bbbb2222', createdAt: T0 + 1, state: 'active', expiresAt: T0 + HOUR });
    const expired = makeRequest({ id: 'cccc3333', createdAt: T0 + 2, state: 'expired' });
    const someoneElse = makeRequest({ id: 'dddd4444', requesterId: 'U0OTHER', createdAt: T0 + 3 });
    for (const request of [pending, active, expired, someoneElse]) {
      expect(await store.create(request, created(request))).toBe(true);
    }

    const sent = jest.spyOn(redis, 'sendCommand');
    const open = await store.listByRequester('U0REQUESTER', ['pending', 'approved', 'active']);
    expect(sent).toHaveBeenCalledTimes(1);
    sent.mockRestore();
    expect(open.map((request) => request.id)).toEqual([active.id, pending.id]);
    expect((await store.listByRequester('U0REQUESTER')).map((request) => request.id)).toEqual([
      expired.id,
      active.id,
      pending.id,
    ]);
    expect(await store.listByRequester('U0NOBODY', ['active'])).toEqual([]);
  });
});
