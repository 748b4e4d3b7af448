import type { Redis } from 'ioredis';
import type { IrrevocableGrants } from '../domain/ports';
import type { RedisKeys } from './keys';

/** The irrevocable grants as a Redis set, so every bot process and the metrics see the same ones. */
export class RedisIrrevocableGrants implements IrrevocableGrants {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async add(requestId: string): Promise<void> {
    await this.redis.sadd(this.keys.irrevocable(), requestId);
  }

  async remove(requestId: string): Promise<void> {
    await this.redis.srem(this.keys.irrevocable(), requestId);
  }

  async list(): Promise<string[]> {
    return this.redis.smembers(this.keys.irrevocable());
  }
}
