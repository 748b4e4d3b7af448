/** How far expiries have been handed to sweeps: one watermark in Redis, moved by one script in every process. */
import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/**
 * Hands out the stretch `(watermark, now]` when an active grant's expiry lies in it, and moves the watermark to
 * `now`; otherwise reports the next expiry after the watermark. One script, so two processes never get stretches
 * that overlap. A missing watermark (a new deployment) starts at ARGV[2]: every overdue grant is swept.
 * KEYS: the active state index (scored by expiry), the watermark. ARGV: now, the starting watermark.
 */
const CLAIM_STRETCH = `
local swept = redis.call('GET', KEYS[2]) or ARGV[2]
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. swept, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #first == 0 then return {} end
if tonumber(first[2]) > tonumber(ARGV[1]) then return {'next', first[2]} end
redis.call('SET', KEYS[2], ARGV[1])
return {'claimed', swept, ARGV[1]}
`;

type WatermarkRedis = Redis & {
  jitClaimExpiryStretch(activeIndex: string, watermark: string, now: number, start: number): Promise<string[]>;
};

/** A stretch of expiries to sweep, the next expiry not yet due, or no active grant ahead at all. */
export type ExpiryClaim =
  | { kind: 'claimed'; after: number; until: number }
  | { kind: 'next'; at: number }
  | { kind: 'none' };

export class RedisExpiryWatermark {
  private readonly redis: WatermarkRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!('jitClaimExpiryStretch' in redis)) {
      redis.defineCommand('jitClaimExpiryStretch', { numberOfKeys: 2, lua: CLAIM_STRETCH });
    }
    this.redis = redis as WatermarkRedis;
  }

  /** Claims the expiries due by `now` that no sweep has been handed yet. */
  async claim(now: number): Promise<ExpiryClaim> {
    const reply = await this.redis.jitClaimExpiryStretch(
      this.keys.stateIndex('active'),
      this.keys.expirySwept(),
      now,
      0,
    );
    if (reply[0] === 'claimed') return { kind: 'claimed', after: Number(reply[1]), until: Number(reply[2]) };
    if (reply[0] === 'next') return { kind: 'next', at: Number(reply[1]) };
    return { kind: 'none' };
  }
}
