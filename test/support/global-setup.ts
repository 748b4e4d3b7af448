import { startRedisServer } from './redis-server';

/** One throwaway redis-server for the whole run; each test bot uses its own key prefix on it. */
export default async function globalSetup(): Promise<void> {
  const redis = await startRedisServer();
  (globalThis as { __JIT_TEST_REDIS__?: unknown }).__JIT_TEST_REDIS__ = redis;
  process.env.JIT_TEST_REDIS_URL = redis.url;
}
