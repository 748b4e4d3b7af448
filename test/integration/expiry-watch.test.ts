/** The expiry watermark and watch on a real Redis: stretches handed to sweeps never overlap, across processes. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ExpiryWatch } from '../../src/jobs/expiry-watch';
import { EXPIRY_SWEEP_JOB_NAME, expirySweepJobSchema } from '../../src/jobs/queues';
import { createLogger } from '../../src/lib/logger';
import { RedisExpiryWatermark } from '../../src/store/expiry-watermark';
import { RedisKeys } from '../../src/store/keys';
import { eventually } from '../support/eventually';
import { ManualClock } from '../support/in-memory/clock';

let connections: Redis[] = [];
let keys: RedisKeys;

beforeEach(() => {
  keys = new RedisKeys(`jit-expiry-${randomUUID().slice(0, 8)}`);
});

afterEach(async () => {
  await Promise.all(connections.map((connection) => connection.quit()));
  connections = [];
});

/** A connection of its own, as each process has. */
function connect(options: { maxRetriesPerRequest?: null } = {}): Redis {
  const url = process.env.JIT_TEST_REDIS_URL;
  if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
  const connection = new Redis(url, options);
  connections.push(connection);
  return connection;
}

/** Active grants as the store indexes them: member the request ID, score the expiry. */
async function activeGrants(redis: Redis, expiries: Record<string, number>): Promise<void> {
  for (const [id, expiresAt] of Object.entries(expiries)) await redis.zadd(keys.stateIndex('active'), expiresAt, id);
}

const T = 1_800_000_000_000;

describe('RedisExpiryWatermark', () => {
  it('claims the stretch up to now once an expiry is due, else tells the next expiry', async () => {
    const redis = connect();
    const watermark = new RedisExpiryWatermark(redis, keys);
    expect(await watermark.claim(T)).toEqual({ kind: 'none' });
    await activeGrants(redis, { aaaaaaaa: T + 100, bbbbbbbb: T + 200 });
    expect(await watermark.claim(T)).toEqual({ kind: 'next', at: T + 100 });
    // A new deployment starts at 0: whatever is overdue is swept too.
    expect(await watermark.claim(T + 150)).toEqual({ kind: 'claimed', after: 0, until: T + 150 });
    expect(await watermark.claim(T + 150)).toEqual({ kind: 'next', at: T + 200 });
    expect(await watermark.claim(T + 250)).toEqual({ kind: 'claimed', after: T + 150, until: T + 250 });
    // Grants still active behind the watermark (handed to their own jobs) are not claimed again.
    expect(await watermark.claim(T + 300)).toEqual({ kind: 'none' });
  });

  it('gives two processes claiming at once stretches that never overlap and leave no expiry out', async () => {
    const [first, second] = [connect(), connect()];
    const expiries = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`req${String(i).padStart(5, '0')}`, T + i]),
    );
    await activeGrants(first, expiries);
    const watermarks = [new RedisExpiryWatermark(first, keys), new RedisExpiryWatermark(second, keys)];
    const claims = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (watermarks[i % 2] as RedisExpiryWatermark).claim(T + i)),
    );
    const stretches = claims.flatMap((claim) => (claim.kind === 'claimed' ? [claim] : []));
    const covering = (expiry: number) =>
      stretches.filter((stretch) => stretch.after < expiry && expiry <= stretch.until).length;
    expect(Object.values(expiries).map(covering)).toEqual(Object.values(expiries).map(() => 1));
  });
});

describe('ExpiryWatch', () => {
  it('in two processes, queues one sweep per stretch as expiries come due, and none once all are swept', async () => {
    const clock = new ManualClock(T);
    // One revoke queue, as each of two processes opens it.
    const queueName = `jit-revoke-${randomUUID().slice(0, 8)}`;
    const [revokeQueue, shared] = [0, 1].map(
      () => new Queue(queueName, { connection: connect({ maxRetriesPerRequest: null }), prefix: keys.queuePrefix() }),
    ) as [Queue, Queue];
    const logger = createLogger({ level: 'silent' });
    const watches = [revokeQueue, shared].map(
      (queue) =>
        new ExpiryWatch({
          watermark: new RedisExpiryWatermark(connect(), keys),
          revokeQueue: queue,
          clock,
          logger,
          pollMs: 5,
        }),
    );
    await activeGrants(connections[0] as Redis, { aaaaaaaa: T + 1_000, bbbbbbbb: T + 1_000, cccccccc: T + 5_000 });
    try {
      for (const watch of watches) watch.start();
      // Nothing is due yet: the watches keep looking, and queue nothing.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await revokeQueue.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0 });

      clock.set(T + 1_000);
      await eventually(async () => (await revokeQueue.getWaitingCount()) === 1, 'the first sweep queued');
      clock.set(T + 6_000);
      await eventually(async () => (await revokeQueue.getWaitingCount()) === 2, 'the second sweep queued');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const jobs = await revokeQueue.getWaiting();
      expect(jobs.map((job) => job.name)).toEqual([EXPIRY_SWEEP_JOB_NAME, EXPIRY_SWEEP_JOB_NAME]);
      const stretches = jobs.map((job) => expirySweepJobSchema.parse(job.data)).sort((a, b) => a.until - b.until);
      expect(stretches).toEqual([
        { after: 0, until: T + 1_000 },
        { after: T + 1_000, until: T + 6_000 },
      ]);
    } finally {
      await Promise.all(watches.map((watch) => watch.stop()));
      await Promise.all([revokeQueue, shared].map((queue) => queue.close()));
    }
  });
});
