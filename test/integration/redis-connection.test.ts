import { Redis } from 'ioredis';
import { nothingListensOn } from '../../src/store/local-redis';
import { RedisCredentialsRefused, RedisUnreachable, waitForRedis } from '../../src/store/redis-connection';
import { freePort } from '../support/free-port';
import { startRedisServer } from '../support/redis-server';

describe('waitForRedis', () => {
  it('resolves once Redis answers', async () => {
    await expect(waitForRedis(process.env.JIT_TEST_REDIS_URL ?? '', 5_000)).resolves.toBeUndefined();
  });

  it('waits for a Redis that comes up during the wait', async () => {
    const port = await freePort();
    const waiting = waitForRedis(`redis://127.0.0.1:${port}`, 20_000, 100);
    const redis = await startRedisServer({ port });
    try {
      await expect(waiting).resolves.toBeUndefined();
    } finally {
      await redis.stop();
    }
  });

  it('gives up after the wait, naming the URL and the last reason', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const error = await waitForRedis(url, 1_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisUnreachable);
    expect((error as RedisUnreachable).message).toMatch(
      new RegExp(
        `^no Redis answered at ${url} within 1 s \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\)\\. Start Redis`,
      ),
    );
  });

  it('stops at once when Redis refuses the password, without showing it', async () => {
    const redis = await startRedisServer();
    try {
      // Set after start: the launcher's readiness PING carries no password.
      const admin = new Redis(redis.url);
      await admin.config('SET', 'requirepass', 'right-one');
      admin.disconnect();
      const error = await waitForRedis(`redis://:wrong-one@127.0.0.1:${redis.port}`, 20_000).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RedisCredentialsRefused);
      expect((error as Error).message).toContain('refused the bot');
      expect((error as Error).message).toContain('REDIS_URL');
      expect((error as Error).message).not.toContain('wrong-one');
    } finally {
      await redis.stop();
    }
  });
});

describe('nothingListensOn', () => {
  it('tells a closed port from one that is listened on', async () => {
    expect(await nothingListensOn('127.0.0.1', await freePort())).toBe(true);
    const redis = await startRedisServer();
    try {
      expect(await nothingListensOn('127.0.0.1', redis.port)).toBe(false);
    } finally {
      await redis.stop();
    }
  });
});
