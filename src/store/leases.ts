/** What the store's leases on a key share (turns, operation slots): waiting to take one, and keeping it while working. */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../lib/logger';

/** How a lease is waited for and kept; see each user's options for its defaults. */
export interface LeaseTiming {
  /** How long a lease outlives a holder that died; renewed every third of it while the work runs. */
  leaseMs: number;
  /** A waiter asks again after a random pause of up to this long (at least a fifth of it). */
  pollMs: number;
  /** A waiter gives up after this long. */
  maxWaitMs: number;
  random: () => number;
}

/** The timing a user of leases was given, each value it left out taken from its own defaults. */
export function leaseTiming(
  options: Partial<LeaseTiming>,
  defaults: Pick<LeaseTiming, 'leaseMs' | 'pollMs' | 'maxWaitMs'>,
): LeaseTiming {
  return {
    leaseMs: options.leaseMs ?? defaults.leaseMs,
    pollMs: options.pollMs ?? defaults.pollMs,
    maxWaitMs: options.maxWaitMs ?? defaults.maxWaitMs,
    random: options.random ?? Math.random,
  };
}

/** The Redis side of one lease: each resolves to whether the lease is (still) the caller's. */
export interface LeaseCalls {
  take(): Promise<boolean>;
  renew(): Promise<boolean>;
  release(): Promise<unknown>;
}

/**
 * Takes the lease (asking again after a jittered pause, so waiters from several processes do not ask in lockstep),
 * runs `work` while a timer renews it, and releases it whatever the outcome.
 * @returns undefined as `taken` when `maxWaitMs` passed first; nothing ran then.
 */
export async function whileLeased<T>(
  calls: LeaseCalls,
  timing: LeaseTiming,
  say: { what: string; logger?: Logger | undefined },
  work: () => Promise<T>,
): Promise<{ taken: false } | { taken: true; result: T }> {
  const started = performance.now();
  while (!(await calls.take())) {
    if (performance.now() - started >= timing.maxWaitMs) return { taken: false };
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs * (0.2 + 0.8 * timing.random())));
  }
  const renewal = setInterval(() => void renew(), Math.max(1, timing.leaseMs / 3));
  // A lease must never keep the process alive on its own.
  renewal.unref();
  async function renew(): Promise<void> {
    try {
      if (await calls.renew()) return;
      clearInterval(renewal);
      say.logger?.warn(
        { what: say.what, leaseMs: timing.leaseMs },
        `${say.what} ran past its lease before it could be renewed; other work may hold it too now`,
      );
    } catch (error) {
      // Keep trying: the next renewal may reach Redis while the lease still runs.
      say.logger?.warn({ what: say.what, err: error }, `could not renew ${say.what}`);
    }
  }
  try {
    return { taken: true, result: await work() };
  } finally {
    clearInterval(renewal);
    await calls.release().catch((error: unknown) => {
      // The lease ends by itself; the next holder waits for it at worst.
      say.logger?.warn({ what: say.what, err: error }, `could not release ${say.what}; it ends with its lease`);
    });
  }
}
