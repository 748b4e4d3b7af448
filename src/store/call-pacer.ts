/** The pace of cloud calls shared by every bot process: one Redis hash per key, changed only by Lua scripts. */
import type { Redis } from 'ioredis';
import { paceTiming } from '../domain/call-pace';
import type { CallPacer, CallRate } from '../domain/ports';
import type { RedisKeys } from './keys';

/**
 * Reserves the caller's slot by the generic cell rate algorithm (GCRA), with Redis `TIME` as the one clock of all
 * processes, so their own clocks never need to agree. The hash holds `arrival` (the theoretical arrival time of the
 * next call) and `hold` (no call before it), both in microseconds:
 * - arrival = max(arrival, now, hold + tolerance): a hold-off empties the burst, as the cloud's bucket is empty;
 * - slot = max(now, arrival - tolerance), and arrival moves on by one interval.
 * Returns the slot and Redis's now; the key lives until its arrival time has passed, when it means nothing more.
 */
const RESERVE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local pace = redis.call('HMGET', KEYS[1], 'arrival', 'hold')
local hold = tonumber(pace[2]) or 0
local arrival = math.max(tonumber(pace[1]) or 0, now, hold + tolerance)
local slot = math.max(now, arrival - tolerance)
local nextArrival = arrival + interval
redis.call('HSET', KEYS[1], 'arrival', string.format('%.0f', nextArrival))
redis.call('PEXPIRE', KEYS[1], math.ceil((nextArrival - now) / 1000) + 1000)
return { string.format('%.0f', slot), string.format('%.0f', now) }
`;

/** Moves the hold-off to at least now + ARGV[1] µs, never shortening the key's life. */
const HOLD_OFF = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local holdUntil = now + tonumber(ARGV[1])
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold')) or 0
if holdUntil > hold then redis.call('HSET', KEYS[1], 'hold', string.format('%.0f', holdUntil)) end
local lifeMs = math.ceil((math.max(holdUntil, hold) - now) / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < lifeMs then redis.call('PEXPIRE', KEYS[1], lifeMs) end
return 1
`;

type PacerRedis = Redis & {
  jitReserveCallSlot(key: string, intervalUs: number, toleranceUs: number): Promise<[string, string]>;
  jitHoldOffCalls(key: string, holdUs: number): Promise<number>;
};

/** One reserved slot: when the call may go, on Redis's clock, and how long the caller waits for it. */
export interface ReservedSlot {
  /** Microseconds since the epoch by Redis `TIME`. */
  slotUs: number;
  waitMs: number;
}

/**
 * Paces calls on each key across every process sharing the Redis. Callers are served in the order their
 * reservations reached Redis; each then sleeps until its slot, so a call is never sent early, only late by its own
 * scheduling.
 */
export class RedisCallPacer implements CallPacer {
  private readonly redis: PacerRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!('jitReserveCallSlot' in redis)) redis.defineCommand('jitReserveCallSlot', { numberOfKeys: 1, lua: RESERVE });
    if (!('jitHoldOffCalls' in redis)) redis.defineCommand('jitHoldOffCalls', { numberOfKeys: 1, lua: HOLD_OFF });
    this.redis = redis as PacerRedis;
  }

  /** Reserves the next slot on `key` at `rate` without waiting for it. */
  async reserve(key: string, rate: CallRate): Promise<ReservedSlot> {
    const { intervalMs, toleranceMs } = paceTiming(rate);
    const [slot, now] = await this.redis.jitReserveCallSlot(
      this.keys.callPace(key),
      Math.round(intervalMs * 1000),
      Math.round(toleranceMs * 1000),
    );
    const slotUs = Number(slot);
    return { slotUs, waitMs: (slotUs - Number(now)) / 1000 };
  }

  async take(key: string, rate: CallRate): Promise<void> {
    const { waitMs } = await this.reserve(key, rate);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  async holdOff(key: string, ms: number): Promise<void> {
    await this.redis.jitHoldOffCalls(this.keys.callPace(key), Math.max(0, Math.round(ms * 1000)));
  }
}
