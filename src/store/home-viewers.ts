/** Who has opened the bot's App Home: one Redis set of Slack user IDs, shared by every replica. */
import type { Redis } from 'ioredis';
import type { HomeViewers } from '../domain/ports';
import type { RedisKeys } from './keys';

/**
 * The people whose App Home is kept current. Kept for good: a person's entry is a few bytes, and an App Home that
 * was opened once may be opened again at any time.
 */
export class RedisHomeViewers implements HomeViewers {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async opened(userId: string): Promise<void> {
    await this.redis.sadd(this.keys.homeViewers(), userId);
  }

  async amongThem(userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const member = await this.redis.smismember(this.keys.homeViewers(), ...userIds);
    return userIds.filter((_, index) => member[index] === 1);
  }
}
