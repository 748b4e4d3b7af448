import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ResourceTurns } from '../../src/domain/ports';
import { InProcessTurns } from '../../src/providers/in-process-turns';
import { RedisKeys } from '../../src/store/keys';
import { RedisResourceTurns, ResourceTurnTimeout } from '../../src/store/resource-turns';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Work that counts how many works run at once on its key, and the most that ever did. */
class OverlapMeter {
  running = 0;
  most = 0;
  done = 0;

  work(pauses = 3): () => Promise<void> {
    return async () => {
      this.running += 1;
      this.most = Math.max(this.most, this.running);
      // Give every other waiter a chance to (wrongly) start meanwhile: a few real pauses, not a timing claim.
      for (let i = 0; i < pauses; i += 1) await sleep(5);
      this.running -= 1;
      this.done += 1;
    };
  }
}

let redis: Redis;
let otherRedis: Redis;

beforeAll(() => {
  const url = process.env.JIT_TEST_REDIS_URL;
  if (!url)
    throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest (its global setup starts Redis)');
  redis = new Redis(url);
  // The second "process" has its own connection, as another replica of the bot would.
  otherRedis = new Redis(url);
});

afterAll(async () => {
  await redis.quit();
  await otherRedis.quit();
});

/** A fresh prefix per test, so no test sees another's leases. */
const freshKeys = () => new RedisKeys(`jit-test-turns-${randomUUID().slice(0, 8)}`);

describe.each([
  ['InProcessTurns', () => [new InProcessTurns()] as const],
  [
    'RedisResourceTurns',
    () => {
      const keys = freshKeys();
      return [new RedisResourceTurns(redis, keys), new RedisResourceTurns(otherRedis, keys)] as const;
    },
  ],
])('%s', (_name, make: () => readonly ResourceTurns[]) => {
  it('never runs two works on one key at once, whichever instance asks', async () => {
    const instances = make();
    const meter = new OverlapMeter();

    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (instances[i % instances.length] as ResourceTurns).withTurn('k', meter.work()),
      ),
    );

    expect(meter.done).toBe(12);
    expect(meter.most).toBe(1);
  });

  it('runs works on different keys side by side', async () => {
    const [turns] = make() as [ResourceTurns];
    const meter = new OverlapMeter();
    let release = (): void => {};
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each work waits until the other has started: serialising the keys would never let the first one finish.
    const work = (key: string) =>
      turns.withTurn(key, async () => {
        meter.running += 1;
        meter.most = Math.max(meter.most, meter.running);
        if (meter.running === 2) release();
        // Bounded, so a wrong implementation fails the assertion below rather than hanging.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([bothStarted, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
        clearTimeout(timer);
        meter.running -= 1;
      });

    await Promise.all([work('a'), work('b')]);

    expect(meter.most).toBe(2);
  });

  it('passes the turn on after a work that failed, and hands the failure to its caller', async () => {
    const [turns] = make() as [ResourceTurns];
    const meter = new OverlapMeter();

    const failed = turns.withTurn('k', async () => {
      throw new Error('the cloud said no');
    });
    const next = turns.withTurn('k', meter.work());

    await expect(failed).rejects.toThrow('the cloud said no');
    await next;
    expect(meter.done).toBe(1);
  });

  it('resolves with what the work returned', async () => {
    const [turns] = make() as [ResourceTurns];

    await expect(turns.withTurn('k', async () => 42)).resolves.toBe(42);
  });
});

describe('RedisResourceTurns', () => {
  it('keeps its lease while a work runs past it, so another process waits', async () => {
    const keys = freshKeys();
    // A lease far shorter than the work: only the renewals keep the other instance out.
    const first = new RedisResourceTurns(redis, keys, { leaseMs: 150 });
    const second = new RedisResourceTurns(otherRedis, keys, { leaseMs: 150 });
    const meter = new OverlapMeter();

    await Promise.all([first.withTurn('k', meter.work(120)), sleep(20).then(() => second.withTurn('k', meter.work()))]);

    expect(meter.done).toBe(2);
    expect(meter.most).toBe(1);
  });

  it('takes a turn abandoned by a dead holder once its lease ends, and not before', async () => {
    const keys = freshKeys();
    const turns = new RedisResourceTurns(redis, keys);
    // A process that died holding the turn: its lease is all that is left of it. The marker expires just before
    // the lease, so finding it still there means the lease had not ended yet.
    const marker = `${keys.prefix}:dead-holder-still-leased`;
    await redis.multi().set(keys.resourceTurn('k'), 'dead-holder', 'PX', 300).set(marker, '1', 'PX', 290).exec();
    let leaseStillRan: number | undefined;
    let holder: string | null = null;

    await turns.withTurn('k', async () => {
      leaseStillRan = await redis.exists(marker);
      holder = await redis.get(keys.resourceTurn('k'));
    });

    expect(leaseStillRan).toBe(0);
    expect(holder).not.toBe('dead-holder');
    expect(holder).toMatch(/^[0-9a-f]{32}$/);
  });

  it('ends only its own lease: a turn it lost to another holder stays theirs', async () => {
    const keys = freshKeys();
    const turns = new RedisResourceTurns(redis, keys);

    await turns.withTurn('k', async () => {
      // As if the lease had run out and another process had taken the turn meanwhile.
      await redis.set(keys.resourceTurn('k'), 'next-holder', 'PX', 60_000);
    });

    await expect(redis.get(keys.resourceTurn('k'))).resolves.toBe('next-holder');
  });

  it('leaves no lease behind once the work is done', async () => {
    const keys = freshKeys();
    const turns = new RedisResourceTurns(redis, keys);

    await turns.withTurn('k', async () => {
      await expect(redis.exists(keys.resourceTurn('k'))).resolves.toBe(1);
    });

    await expect(redis.exists(keys.resourceTurn('k'))).resolves.toBe(0);
  });

  it('gives up waiting with ResourceTurnTimeout, without running the work, when another holder keeps the turn', async () => {
    const keys = freshKeys();
    const turns = new RedisResourceTurns(redis, keys, { maxWaitMs: 100 });
    await redis.set(keys.resourceTurn('k'), 'busy-holder', 'PX', 60_000);
    let ran = false;

    const error = await turns
      .withTurn('k', async () => {
        ran = true;
      })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ResourceTurnTimeout);
    expect((error as ResourceTurnTimeout).message).toContain('another bot process kept holding');
    expect(ran).toBe(false);
    await expect(redis.get(keys.resourceTurn('k'))).resolves.toBe('busy-holder');
  });
});
