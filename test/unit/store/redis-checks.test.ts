import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import { checkRedisSettings, parseInfo, RedisSettingsRefused } from '../../../src/store/redis-checks';
import { type RedisServerHandle, startRedisServer } from '../../support/redis-server';

describe('parseInfo', () => {
  it('reads key:value lines across sections, skipping headers and blanks', () => {
    const info = parseInfo(
      '# Memory\r\nused_memory:1024\r\nmaxmemory_policy:noeviction\r\n\r\n# Persistence\r\naof_enabled:1\r\n',
    );
    expect(info.get('maxmemory_policy')).toBe('noeviction');
    expect(info.get('aof_enabled')).toBe('1');
    expect(info.has('# Memory')).toBe(false);
  });

  it('keeps colons inside values', () => {
    expect(
      parseInfo('executable:/usr/bin/redis-server\nlistener0:name=tcp,bind=127.0.0.1,port=6379').get('listener0'),
    ).toBe('name=tcp,bind=127.0.0.1,port=6379');
  });
});

/**
 * The check against a real redis-server of the test's own, reconfigured between cases with CONFIG SET, as an
 * operator (or a managed Redis's parameter group) would set it.
 */
describe('checkRedisSettings', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  /** A logger writing parsed JSON lines into `lines`. */
  function capturingLogger() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
        callback();
      },
    });
    return { logger: createLogger({ level: 'debug', destination }), lines };
  }

  async function configure(maxmemoryPolicy: string, appendonly: 'yes' | 'no') {
    await redis.config('SET', 'maxmemory-policy', maxmemoryPolicy);
    await redis.config('SET', 'appendonly', appendonly);
  }

  it.each([
    'allkeys-lru',
    'volatile-lru',
    'allkeys-lfu',
    'volatile-lfu',
    'allkeys-random',
    'volatile-random',
    'volatile-ttl',
  ])('refuses maxmemory-policy %s, naming it and the fix, and logs nothing', async (policy) => {
    await configure(policy, 'yes');
    const { logger, lines } = capturingLogger();
    const refusal = await checkRedisSettings(redis, logger).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(RedisSettingsRefused);
    expect(refusal).toMatchObject({ code: 'redis_eviction_policy', maxmemoryPolicy: policy });
    expect((refusal as Error).message).toContain(`Redis maxmemory-policy is "${policy}"; the bot needs "noeviction"`);
    expect((refusal as Error).message).toContain('CONFIG SET maxmemory-policy noeviction');
    expect(lines).toEqual([]);
  });

  it('accepts noeviction without an append-only file, warning once that a crash would lose scheduled revocations', async () => {
    await configure('noeviction', 'no');
    const { logger, lines } = capturingLogger();
    expect(await checkRedisSettings(redis, logger)).toEqual({ maxmemoryPolicy: 'noeviction', aofEnabled: false });
    expect(lines.map((line) => line.level)).toEqual(['warn']);
    expect(lines[0]?.msg).toContain('Redis has AOF off (appendonly no)');
    expect(lines[0]?.msg).toContain('revocations included');
    expect(lines[0]?.msg).toContain('CONFIG SET appendonly yes');
    expect(lines[0]?.redis).toEqual({ maxmemoryPolicy: 'noeviction', aofEnabled: false });
  });

  it('accepts noeviction with an append-only file without a warning', async () => {
    await configure('noeviction', 'yes');
    const { logger, lines } = capturingLogger();
    expect(await checkRedisSettings(redis, logger)).toEqual({ maxmemoryPolicy: 'noeviction', aofEnabled: true });
    expect(lines).toMatchObject([{ level: 'info', msg: 'Redis settings checked' }]);
  });
});
