/** Turns on a key shared by every bot process: a Redis lease per key, renewed while its holder works. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ResourceTurns } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from './keys';

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
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxWaitMs: number;
  private readonly random: () => number;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: RedisResourceTurnsOptions = {},
  ) {
    if (!('jitReleaseTurn' in redis)) redis.defineCommand('jitReleaseTurn', { numberOfKeys: 1, lua: RELEASE });
    if (!('jitRenewTurn' in redis)) redis.defineCommand('jitRenewTurn', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as TurnsRedis;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.random = options.random ?? Math.random;
  }

  /** @throws ResourceTurnTimeout when the key stays taken for `maxWaitMs`; Redis errors as they come. */
  async withTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const redisKey = this.keys.resourceTurn(key);
    const token = randomBytes(16).toString('hex');
    await this.take(key, redisKey, token);
    const renewal = setInterval(() => void this.renew(key, redisKey, token, renewal), Math.max(1, this.leaseMs / 3));
    // A turn must never keep the process alive on its own.
    renewal.unref();
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      await this.redis.jitReleaseTurn(redisKey, token).catch((error: unknown) => {
        // The lease ends by itself; the next holder waits for it at worst.
        this.options.logger?.warn({ key, err: error }, `could not end the turn on ${key}; it ends with its lease`);
      });
    }
  }

  private async take(key: string, redisKey: string, token: string): Promise<void> {
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
    }, this.maxWaitMs);
    deadline.unref();
    try {
      for (;;) {
        if ((await this.redis.set(redisKey, token, 'PX', this.leaseMs, 'NX')) === 'OK') return;
        if (timedOut) throw new ResourceTurnTimeout(key, this.maxWaitMs);
        // Jittered, so waiters from several processes do not ask in lockstep.
        const pauseMs = this.pollMs * (0.2 + 0.8 * this.random());
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  private async renew(key: string, redisKey: string, token: string, renewal: NodeJS.Timeout): Promise<void> {
    try {
      if ((await this.redis.jitRenewTurn(redisKey, token, this.leaseMs)) === 1) return;
      clearInterval(renewal);
      this.options.logger?.warn(
        { key, leaseMs: this.leaseMs },
        `the turn on ${key} ran past its lease before it could be renewed; another process may be working on ${key} too`,
      );
    } catch (error) {
      // Keep trying: the next renewal may reach Redis while the lease still runs.
      this.options.logger?.warn({ key, err: error }, `could not renew the turn on ${key}`);
    }
  }
}
