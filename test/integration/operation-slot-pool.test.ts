/** Operation slots shared by every process through Redis: how many hold one at once, and what frees them. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/store/keys';
import { OperationSlotTimeout, RedisOperationSlotPool } from '../../src/store/operation-slot-pool';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisOperationSlotPool', () => {
  let redis: Redis;
  let keys: RedisKeys;

  beforeEach(() => {
    const url = process.env.JIT_TEST_REDIS_URL;
    if (url === undefined) throw new Error('JIT_TEST_REDIS_URL is unset: jest global setup starts Redis');
    redis = new Redis(url);
    keys = new RedisKeys(`jit-test-${randomUUID().slice(0, 8)}`);
  });

  afterEach(async () => {
    const left = await redis.keys(`${keys.prefix}:*`);
    if (left.length > 0) await redis.del(...left);
    await redis.quit();
  });

  it('two processes together hold at most the size; every work runs, and the slots are freed after', async () => {
    const pools = [1, 2].map(() => new RedisOperationSlotPool(redis, keys, { pollMs: 5 }));
    let holding = 0;
    let most = 0;
    const work = async () => {
      holding += 1;
      most = Math.max(most, holding);
      await sleep(20);
      holding -= 1;
    };
    await Promise.all(Array.from({ length: 24 }, (_, index) => pools[index % 2]?.use('cloud:instance-1', 3, work)));
    expect(most).toBe(3);
    expect(await redis.zcard(keys.operationSlots('cloud:instance-1'))).toBe(0);
  });

  it('a slot whose holder died is free again once its lease ends', async () => {
    const key = keys.operationSlots('cloud:instance-1');
    const time = await redis.time();
    const redisNowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    // Two processes took the only two slots and died: their leases run 300 ms more, and nobody renews them.
    const leaseEnd = String(redisNowMs + 300);
    await redis.zadd(key, leaseEnd, 'dead-1', leaseEnd, 'dead-2');
    // While their leases run, the slots are taken.
    const impatient = new RedisOperationSlotPool(redis, keys, { pollMs: 10, maxWaitMs: 50 });
    await expect(impatient.use('cloud:instance-1', 2, async () => 'done')).rejects.toBeInstanceOf(OperationSlotTimeout);
    const pool = new RedisOperationSlotPool(redis, keys, { pollMs: 10 });
    await expect(pool.use('cloud:instance-1', 2, async () => 'done')).resolves.toBe('done');
    expect(await redis.zrange(key, '0', '-1')).toEqual([]);
  });

  it('a work running past its lease keeps its slot, renewed; a waiter gives up with a typed error', async () => {
    const holder = new RedisOperationSlotPool(redis, keys, { leaseMs: 150, pollMs: 10 });
    const waiter = new RedisOperationSlotPool(redis, keys, { pollMs: 10, maxWaitMs: 400 });
    let release = () => {};
    const held = holder.use('cloud:instance-1', 1, () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(20);
    const waited = await waiter.use('cloud:instance-1', 1, async () => 'ran').catch((error: unknown) => error);
    expect(waited).toBeInstanceOf(OperationSlotTimeout);
    expect(waited).toMatchObject({ code: 'operation_slot_timeout', key: 'cloud:instance-1' });
    release();
    await held;
    await expect(waiter.use('cloud:instance-1', 1, async () => 'ran')).resolves.toBe('ran');
  });

  it('a work that fails frees its slot, and its error is the caller’s', async () => {
    const pool = new RedisOperationSlotPool(redis, keys, { pollMs: 5 });
    await expect(
      pool.use('cloud:instance-1', 1, async () => {
        throw new Error('the cloud said no');
      }),
    ).rejects.toThrow('the cloud said no');
    await expect(pool.use('cloud:instance-1', 1, async () => 'next')).resolves.toBe('next');
  });
});
