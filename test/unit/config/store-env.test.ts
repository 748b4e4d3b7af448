import { ConfigError } from '../../../src/config/config-error';
import { parseStoreEnv } from '../../../src/config/env-schema';

describe('parseStoreEnv', () => {
  it('needs no Slack settings and applies the defaults', () => {
    expect(parseStoreEnv({})).toEqual({ REDIS_URL: 'redis://127.0.0.1:6379', JIT_REDIS_PREFIX: 'jit' });
    expect(parseStoreEnv({ REDIS_URL: '', JIT_REDIS_PREFIX: '' })).toEqual(parseStoreEnv({}));
  });

  it('takes only the store settings', () => {
    expect(
      parseStoreEnv({
        REDIS_URL: 'rediss://r.example:6380',
        JIT_REDIS_PREFIX: '{jit}',
        SLACK_BOT_TOKEN: 'nope',
        PORT: 'x',
      }),
    ).toEqual({ REDIS_URL: 'rediss://r.example:6380', JIT_REDIS_PREFIX: '{jit}' });
  });

  it('lists every bad one with its fix', () => {
    expect(() => parseStoreEnv({ REDIS_URL: 'http://x', JIT_REDIS_PREFIX: 'a:b' })).toThrow(ConfigError);
    try {
      parseStoreEnv({ REDIS_URL: 'http://x', JIT_REDIS_PREFIX: 'a:b' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379',
        'JIT_REDIS_PREFIX: may hold only letters, digits, -, _ and {} (for a Cluster hash tag)',
      ]);
    }
  });
});
