import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { GrantCheckpoints } from '../domain/ports';
import type { RedisKeys } from './keys';

/**
 * How long a checkpoint is kept after it was last written. No grant lives longer than the longest duration the
 * policy can name (366 days, extensions included, since they stay within the role's maximum); the rest leaves
 * room for a revocation that keeps failing for weeks before an operator retries it. Past this, the provider falls
 * back on the memo stored with the request.
 */
export const GRANT_CHECKPOINT_TTL_MS = 400 * 86_400_000;

const checkpointSchema = z.record(z.string(), z.string());

/** Grant checkpoints as one JSON string per request, with a TTL, so every bot process reads the same ones. */
export class RedisGrantCheckpoints implements GrantCheckpoints {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(requestId: string): Promise<Readonly<Record<string, string>> | undefined> {
    const raw = await this.redis.get(this.keys.grantCheckpoint(requestId));
    if (raw === null) return undefined;
    const parsed = checkpointSchema.safeParse(parseJson(raw));
    if (!parsed.success) {
      // Guessing would risk taking the bot's own assignment for someone else's: refuse, and say where to look.
      throw new Error(
        `The grant checkpoint ${this.keys.grantCheckpoint(requestId)} is not a JSON object of strings; it was changed outside the bot.`,
      );
    }
    return parsed.data;
  }

  async set(requestId: string, checkpoint: Readonly<Record<string, string>>): Promise<void> {
    await this.redis.set(
      this.keys.grantCheckpoint(requestId),
      JSON.stringify(checkpoint),
      'PX',
      GRANT_CHECKPOINT_TTL_MS,
    );
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
