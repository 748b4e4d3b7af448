import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/** A group's cached members, as `SlackPeopleDirectory` reads and writes them. */
interface CachedMembers {
  members: readonly string[];
  fetchedAt: number;
}

/**
 * User group memberships in Redis, one hash per group, shared by every replica: Slack sends
 * `subteam_members_changed` to one replica only, and the others must stop trusting the old members too. A hash
 * holds the group's `generation` (moved on by `forget`) and the members with the generation they were fetched
 * under; members of an older generation are not read back, so a fetch that was under way when the group changed
 * cannot restore them. One small hash per group the policy names; freshness is judged by the reader.
 */
export class RedisUsergroupCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async read(usergroupId: string): Promise<{ generation: number; cached?: CachedMembers }> {
    const fields = await this.redis.hgetall(this.keys.usergroupMembers(usergroupId));
    const generation = Number(fields.generation ?? 0);
    if (fields.members === undefined || Number(fields.membersGeneration) !== generation) return { generation };
    try {
      const members = JSON.parse(fields.members) as unknown;
      if (!Array.isArray(members) || !members.every((member) => typeof member === 'string')) return { generation };
      return { generation, cached: { members, fetchedAt: Number(fields.fetchedAt) } };
    } catch {
      return { generation };
    }
  }

  async write(usergroupId: string, generation: number, cached: CachedMembers): Promise<void> {
    await this.redis.hset(this.keys.usergroupMembers(usergroupId), {
      members: JSON.stringify(cached.members),
      membersGeneration: String(generation),
      fetchedAt: String(cached.fetchedAt),
    });
  }

  async forget(usergroupId: string): Promise<void> {
    const key = this.keys.usergroupMembers(usergroupId);
    await this.redis.multi().hincrby(key, 'generation', 1).hdel(key, 'members').exec();
  }
}
