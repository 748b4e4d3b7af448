import type { RedisServerHandle } from './redis-server';

export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as { __JIT_TEST_REDIS__?: RedisServerHandle }).__JIT_TEST_REDIS__;
  await redis?.stop();
}
