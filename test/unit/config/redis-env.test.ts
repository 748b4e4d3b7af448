import { ConfigError } from '../../../src/config/config-error';
import { parseEnv, parseStoreEnv } from '../../../src/config/env-schema';

const REQUIRED = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef' };

describe('the Redis settings', () => {
  it('keeps whether REDIS_URL was given, so only an unset one may lead to a local Redis', () => {
    expect(parseEnv(REQUIRED)).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      redisUrlGiven: false,
      JIT_LOCAL_REDIS_PORT: 6379,
      JIT_REDIS_WAIT_MS: 15_000,
    });
    expect(parseEnv({ ...REQUIRED, REDIS_URL: 'redis://127.0.0.1:6379' })).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      redisUrlGiven: true,
    });
    expect(parseEnv({ ...REQUIRED, REDIS_URL: '' }).redisUrlGiven).toBe(false);
  });

  it('puts the local Redis on JIT_LOCAL_REDIS_PORT when REDIS_URL is unset, and only then', () => {
    expect(parseEnv({ ...REQUIRED, JIT_LOCAL_REDIS_PORT: '6390' }).REDIS_URL).toBe('redis://127.0.0.1:6390');
    expect(parseEnv({ ...REQUIRED, JIT_LOCAL_REDIS_PORT: '6390', REDIS_URL: 'redis://r:1' }).REDIS_URL).toBe(
      'redis://r:1',
    );
    expect(parseStoreEnv({ JIT_LOCAL_REDIS_PORT: '6390' }).REDIS_URL).toBe('redis://127.0.0.1:6390');
  });

  it('refuses a wait or a port out of range, with the fix', () => {
    let error: unknown;
    try {
      parseEnv({ ...REQUIRED, JIT_REDIS_WAIT_MS: '10', JIT_LOCAL_REDIS_PORT: '70000' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        'JIT_REDIS_WAIT_MS: must be at least 1000 ms',
        'JIT_LOCAL_REDIS_PORT: must be between 1 and 65535',
      ]),
    );
  });
});
