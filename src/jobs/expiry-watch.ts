/** Hands each stretch of due expiries to an expiry sweep job the moment its first grant is due, in every process. */
import type { Queue } from 'bullmq';
import type { Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { RedisExpiryWatermark } from '../store/expiry-watermark';
import { isRedisConnectionError } from '../store/redis-connection';
import { EXPIRY_SWEEP_JOB_NAME, type ExpirySweepJob, jobIds } from './queues';
import { EXPIRY_SWEEP_JOB_OPTIONS } from './retry-policy';

/**
 * How often each process looks for the next expiry. A grant made or extended meanwhile is seen within this; one
 * already known is swept at its expiry to the millisecond, on a timer set for it.
 */
export const EXPIRY_WATCH_POLL_MS = 1_000;

/** How long shutdown waits for a claim under way to queue its sweep. */
const STOP_WAIT_MS = 5_000;

export interface ExpiryWatchDeps {
  watermark: RedisExpiryWatermark;
  /** The revoke queue, where sweeps run beside grants' own revoke jobs. */
  revokeQueue: Queue;
  clock: Clock;
  logger: Logger;
  pollMs?: number;
}

/**
 * Claims the stretch of expiries that has come due and queues its sweep, then waits for the next expiry (or the
 * poll). Every process with job workers runs one; the claim is atomic, so each stretch goes to one sweep. Should
 * the process die between the claim and the queueing, the stretch's grants are ended by their own revoke jobs at
 * their backstop (`REVOKE_JOB_BACKSTOP_MS`).
 */
export class ExpiryWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> | undefined;

  constructor(private readonly deps: ExpiryWatchDeps) {}

  start(): void {
    this.schedule(0);
  }

  /**
   * Stops watching; a claim under way gets `STOP_WAIT_MS` to queue its sweep (in a Redis outage it would wait for
   * Redis, and shutdown must not; its grants are then ended by their own jobs at the backstop).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_WAIT_MS);
    });
    await Promise.race([this.ticking, waited]);
    clearTimeout(timer);
  }

  private schedule(waitMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().then((nextWaitMs) => this.schedule(nextWaitMs));
    }, waitMs);
    // Shutdown stops the watch; a process that ends without it is not held open by it.
    this.timer.unref();
  }

  /** @returns how long to wait before looking again. */
  private async tick(): Promise<number> {
    const pollMs = this.deps.pollMs ?? EXPIRY_WATCH_POLL_MS;
    try {
      const now = this.deps.clock.now();
      const claim = await this.deps.watermark.claim(now);
      if (claim.kind === 'next') return Math.min(pollMs, Math.max(0, claim.at - now));
      if (claim.kind === 'claimed') {
        const stretch: ExpirySweepJob = { after: claim.after, until: claim.until };
        await this.deps.revokeQueue.add(EXPIRY_SWEEP_JOB_NAME, stretch, {
          ...EXPIRY_SWEEP_JOB_OPTIONS,
          jobId: jobIds.expirySweep(claim.until),
        });
        // The next expiry may be due before the next poll: look for it now.
        return 0;
      }
    } catch (error) {
      // An outage is reported once by the Redis watch; the next look after it ends claims what came due meanwhile.
      if (!isRedisConnectionError(error)) this.deps.logger.error({ err: error }, 'expiry watch could not claim');
    }
    return pollMs;
  }
}
