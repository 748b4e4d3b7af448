import type { Redis } from 'ioredis';
import { REQUEST_STATES } from '../domain/access-request';
import type { StoreGaugeReader } from '../lib/metrics';
import type { RedisKeys } from './keys';

/** The metrics' view of the store: the size of each state index and of the irrevocable set, read on scrape. */
export class RedisGaugeReader implements StoreGaugeReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async requestsByState(): Promise<Record<string, number>> {
    const pipeline = this.redis.pipeline();
    for (const state of REQUEST_STATES) pipeline.zcard(this.keys.stateIndex(state));
    const results = (await pipeline.exec()) ?? [];
    const counts: Record<string, number> = {};
    REQUEST_STATES.forEach((state, index) => {
      const [error, count] = results[index] ?? [new Error(`no reply for ZCARD of ${state}`), 0];
      if (error) throw error;
      counts[state] = Number(count);
    });
    return counts;
  }

  activeGrants(): Promise<number> {
    return this.redis.zcard(this.keys.stateIndex('active'));
  }

  irrevocableGrants(): Promise<number> {
    return this.redis.scard(this.keys.irrevocable());
  }
}
