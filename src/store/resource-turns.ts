/** Turns on a key shared by every bot process: a Redis lease per key, renewed while its holder works. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ResourceTurns } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from './keys';
import { type LeaseTiming, leaseTiming, whileLeased } from './leases';

/** Deletes the lease only if it is still the caller's: a holder whose lease ran out must not end the next turn. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Extends the lease only if it is still the caller's; 0 tells the holder it lost the turn. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

type TurnsRedis = Redis & {
  jitReleaseTurn(key: string, token: string): Promise<number>;
  jitRenewTurn(key: string, token: string, leaseMs: number): Promise<number>;
};

export interface RedisResourceTurnsOptions {
  /**
   * How long a turn outlives its holder: a process that dies holding one blocks the key this long at most. The
   * holder renews it every third of this while it works, so work may take longer. Default 15 s.
   */
  leaseMs?: number;
  /** A waiter asks again after a random pause of up to this long (at least a fifth of it). Default 25 ms. */
  pollMs?: number;
  /** A waiter gives up with {@link ResourceTurnTimeout} after this long. Default 60 s. */
  maxWaitMs?: number;
  logger?: Logger;
  /** Injected in tests; `Math.random` otherwise. */
  random?: () => number;
}

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_POLL_MS = 25;
const DEFAULT_MAX_WAIT_MS = 60_000;

/** Waiting for a turn took longer than the bound: another process held the key all that time. */
export class ResourceTurnTimeout extends Error {
  override readonly name = 'ResourceTurnTimeout';
  readonly code = 'resource_turn_timeout';

  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(
      `waited ${Math.round(waitedMs / 1000)} s for the turn on ${key}, which another bot process kept holding; ` +
        'the work was not done and can be tried again',
    );
  }
}

/**
 * At most one `work` per key at a time across every process sharing the Redis: `SET NX PX` with a random token takes
 * the turn, a timer renews the lease while the work runs, and a compare-and-delete script ends it. A waiter polls
 * with a short jittered pause (no queue: the order among waiters is not kept). A turn whose holder died ends when
 * its lease does. Should a holder stall past its lease (a long GC pause, Redis unreachable for the renewals), another
 * process may start meanwhile: the turn is an efficiency, so the work must stay correct without it (the callers'
 * writes carry etags).
 */
export class RedisResourceTurns implements ResourceTurns {
  private readonly redis: TurnsRedis;
  private readonly timing: LeaseTiming;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: RedisResourceTurnsOptions = {},
  ) {
    if (!('jitReleaseTurn' in redis)) redis.defineCommand('jitReleaseTurn', { numberOfKeys: 1, lua: RELEASE });
    if (!('jitRenewTurn' in redis)) redis.defineCommand('jitRenewTurn', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as TurnsRedis;
    this.timing = leaseTiming(options, {
      leaseMs: DEFAULT_LEASE_MS,
      pollMs: DEFAULT_POLL_MS,
      maxWaitMs: DEFAULT_MAX_WAIT_MS,
    });
  }

  /** @throws ResourceTurnTimeout when the key stays taken for `maxWaitMs`; Redis errors as they come. */
  async withTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const redisKey = this.keys.resourceTurn(key);
    const token = randomBytes(16).toString('hex');
    const { leaseMs } = this.timing;
    const turn = await whileLeased(
      {
        take: async () => (await this.redis.set(redisKey, token, 'PX', leaseMs, 'NX')) === 'OK',
        renew: async () => (await this.redis.jitRenewTurn(redisKey, token, leaseMs)) === 1,
        release: () => this.redis.jitReleaseTurn(redisKey, token),
      },
      this.timing,
      { what: `the turn on ${key}`, logger: this.options.logger },
      work,
    );
    if (!turn.taken) throw new ResourceTurnTimeout(key, this.timing.maxWaitMs);
    return turn.result;
  }
}
