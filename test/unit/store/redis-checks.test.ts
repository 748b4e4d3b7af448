import { parseInfo, RedisSettingsRefused } from '../../../src/store/redis-checks';

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

describe('RedisSettingsRefused', () => {
  it('carries a code and the policy found', () => {
    const error = new RedisSettingsRefused('allkeys-lru');
    expect(error.code).toBe('redis_eviction_policy');
    expect(error.maxmemoryPolicy).toBe('allkeys-lru');
    expect(error.name).toBe('RedisSettingsRefused');
  });
});
