/** Slots for cloud operations under way, shared by every bot process: one Redis sorted set of leases per key. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { OperationSlotPool } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from './keys';
import { type LeaseTiming, leaseTiming, whileLeased } from './leases';

/**
 * Takes a slot when fewer than ARGV[2] leases are live: leases past their end (on Redis's clock, so the processes'
 * clocks need not agree) are dropped first, as their holders died. ARGV: token, size, lease ms.
 */
const ACQUIRE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
`;

/** Moves the lease's end on, only while the slot is still the caller's; 0 tells the holder it lost it. */
const RENEW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;

type SlotsRedis = Redis & {
  jitAcquireSlot(key: string, token: string, size: number, leaseMs: number): Promise<number>;
  jitRenewSlot(key: string, token: string, leaseMs: number): Promise<number>;
};

export interface RedisOperationSlotPoolOptions {
  /** How long a slot outlives a holder that died; renewed every third of it while the work runs. Default 15 s. */
  leaseMs?: number;
  /** A waiter asks again after a random pause of up to this long (at least a fifth of it). Default 50 ms. */
  pollMs?: number;
  /**
   * A waiter gives up with {@link OperationSlotTimeout} after this long. Default 10 minutes: the slots free as the
   * cloud finishes operations, and a revocation that waits is retried and alerted on only after it gives up.
   */
  maxWaitMs?: number;
  logger?: Logger;
  /** Injected in tests; `Math.random` otherwise. */
  random?: () => number;
}

/** Waiting for a slot took longer than the bound: the key's slots stayed taken all that time. */
export class OperationSlotTimeout extends Error {
  override readonly name = 'OperationSlotTimeout';
  readonly code = 'operation_slot_timeout';

  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(
      `waited ${Math.round(waitedMs / 1000)} s for one of the operation slots on ${key}, which other work kept ` +
        'holding; the operation was not started and can be tried again',
    );
  }
}

/**
 * At most `size` works on a key at once across every process sharing the Redis. A Lua script takes a slot when
 * fewer leases than `size` are live, a timer renews the lease while the work runs, and `ZREM` frees it. Waiters poll
 * with a short jittered pause (no queue across processes; each process's own waiters keep their order in front of
 * this, see `IdentityCenterAssignments`). A holder that stalls past its lease (Redis unreachable for the renewals)
 * may let one more work start than the size: the limit is the cloud's to enforce, this only keeps clear of it.
 */
export class RedisOperationSlotPool implements OperationSlotPool {
  private readonly redis: SlotsRedis;
  private readonly timing: LeaseTiming;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: RedisOperationSlotPoolOptions = {},
  ) {
    if (!('jitAcquireSlot' in redis)) redis.defineCommand('jitAcquireSlot', { numberOfKeys: 1, lua: ACQUIRE });
    if (!('jitRenewSlot' in redis)) redis.defineCommand('jitRenewSlot', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as SlotsRedis;
    this.timing = leaseTiming(options, { leaseMs: 15_000, pollMs: 50, maxWaitMs: 10 * 60_000 });
  }

  /** @throws OperationSlotTimeout when no slot frees within `maxWaitMs`; Redis errors as they come. */
  async use<T>(key: string, size: number, work: () => Promise<T>): Promise<T> {
    const redisKey = this.keys.operationSlots(key);
    const token = randomBytes(16).toString('hex');
    const { leaseMs } = this.timing;
    const slot = await whileLeased(
      {
        take: async () => (await this.redis.jitAcquireSlot(redisKey, token, size, leaseMs)) === 1,
        renew: async () => (await this.redis.jitRenewSlot(redisKey, token, leaseMs)) === 1,
        release: () => this.redis.zrem(redisKey, token),
      },
      this.timing,
      { what: `a slot on ${key}`, logger: this.options.logger },
      work,
    );
    if (!slot.taken) throw new OperationSlotTimeout(key, this.timing.maxWaitMs);
    return slot.result;
  }
}
