/** Start-up's first step: find the Redis the bot will use, starting a local one when none is configured or running. */
import type { EnvConfig } from '../config/env-schema';
import type { Logger } from '../lib/logger';
import { LOCAL_REDIS_DIR, type LocalRedis, nothingListensOn, startLocalRedis } from '../store/local-redis';
import { waitForRedis } from '../store/redis-connection';

/** The Redis to connect to, and the local server to stop on shutdown if the bot started one. */
export interface PreparedRedis {
  url: string;
  local?: LocalRedis;
}

export type RedisStartupSettings = Pick<
  EnvConfig,
  'REDIS_URL' | 'redisUrlGiven' | 'JIT_LOCAL_REDIS_PORT' | 'JIT_REDIS_WAIT_MS'
>;

/** A new local server gets at least this long to load its append-only file and answer. */
const LOCAL_READY_MIN_MS = 5_000;

/**
 * With `REDIS_URL` set (Docker, compose, production), waits for that Redis and never starts one. Without it, uses
 * the Redis on 127.0.0.1:`JIT_LOCAL_REDIS_PORT` if anything listens there, and otherwise starts `redis-server`
 * from PATH on that port, its data in `.redis-data/`.
 * @throws RedisUnreachable, RedisCredentialsRefused, RedisServerNotInstalled, LocalRedisFailed
 */
export async function prepareRedis(env: RedisStartupSettings, logger: Logger): Promise<PreparedRedis> {
  if (!env.redisUrlGiven && (await nothingListensOn('127.0.0.1', env.JIT_LOCAL_REDIS_PORT))) {
    const local = await startLocalRedis({
      port: env.JIT_LOCAL_REDIS_PORT,
      dataDir: LOCAL_REDIS_DIR,
      readyWithinMs: Math.max(env.JIT_REDIS_WAIT_MS, LOCAL_READY_MIN_MS),
    });
    logger.info(
      { redis: local.url, dataDir: LOCAL_REDIS_DIR, pid: local.pid },
      `REDIS_URL is not set and nothing answered at ${local.url}, so the bot started a local redis-server there ` +
        `(AOF on, data in ${LOCAL_REDIS_DIR}/); it stops with the bot. Set REDIS_URL to use another Redis.`,
    );
    return { url: local.url, local };
  }
  await waitForRedis(env.REDIS_URL, env.JIT_REDIS_WAIT_MS);
  return { url: env.REDIS_URL };
}
