import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger';

/** Redis is set up so that it may lose the bot's data by design; the bot refuses to run on it. */
export class RedisSettingsRefused extends Error {
  override readonly name = 'RedisSettingsRefused';
  readonly code = 'redis_eviction_policy';

  constructor(readonly maxmemoryPolicy: string) {
    super(
      `Redis maxmemory-policy is "${maxmemoryPolicy}"; the bot needs "noeviction". Any other policy lets Redis ` +
        'silently delete keys when memory runs out, and one of them could be a scheduled revocation or an active ' +
        'grant. Fix: run `CONFIG SET maxmemory-policy noeviction` on the server and put ' +
        '`maxmemory-policy noeviction` in redis.conf so it survives a restart; on managed Redis (ElastiCache, ' +
        'Azure Cache for Redis, Memorystore) set maxmemory-policy to noeviction in its parameter group or ' +
        'configuration.',
    );
  }
}

/** What the start-up checks found. */
export interface RedisSettings {
  maxmemoryPolicy: string;
  aofEnabled: boolean;
}

/**
 * Refuses Redis that may evict keys and warns when it has no append-only file. Uses `INFO`, which managed Redis
 * allows where `CONFIG GET` is disabled.
 * @throws {@link RedisSettingsRefused} unless `maxmemory-policy` is `noeviction`.
 */
export async function checkRedisSettings(redis: Redis, logger: Logger): Promise<RedisSettings> {
  const memory = parseInfo(await redis.info('memory'));
  const persistence = parseInfo(await redis.info('persistence'));
  const settings: RedisSettings = {
    maxmemoryPolicy: memory.get('maxmemory_policy') ?? '(not reported by INFO memory)',
    aofEnabled: persistence.get('aof_enabled') === '1',
  };
  if (settings.maxmemoryPolicy !== 'noeviction') throw new RedisSettingsRefused(settings.maxmemoryPolicy);
  if (!settings.aofEnabled) {
    logger.warn(
      { redis: settings },
      'Redis has AOF off (appendonly no): on a Redis crash, requests and jobs scheduled since the last snapshot ' +
        '(revocations included) would be lost. Turn it on with `CONFIG SET appendonly yes` and `appendonly yes` ' +
        "in redis.conf, or in the provider's persistence settings.",
    );
  } else {
    logger.info({ redis: settings }, 'Redis settings checked');
  }
  return settings;
}

/**
 * One PING on the connection, failing at once when it is not connected instead of queueing the command until it
 * reconnects (readiness must answer now).
 */
export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`Redis connection is ${redis.status}`);
  await redis.ping();
}

/** `INFO` text (`# Section` headers, `key:value` lines) as a map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
