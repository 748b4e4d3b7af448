import type { DefaultJobOptions } from 'bullmq';

/** Name of the backoff that grows exponentially up to a cap, with full jitter (see `cappedJitterBackoff`). */
export const CAPPED_JITTER = 'capped-jitter';

export interface CappedBackoff {
  baseMs: number;
  capMs: number;
}

/** Revocations retry without end (BullMQ needs a number; this one is never reached) at most this far apart. */
export const REVOKE_BACKOFF: CappedBackoff = { baseMs: 1_000, capMs: 5 * 60_000 };
const UNLIMITED_ATTEMPTS = Number.MAX_SAFE_INTEGER;

/**
 * Delay before the next attempt: a random point in [base·2^(n-1) / 2, base·2^(n-1)], capped. Jitter spreads
 * retries of many grants that failed together (one cloud outage) so they do not hammer the cloud in lockstep.
 */
export function cappedJitterBackoff(attemptsMade: number, backoff: CappedBackoff, random = Math.random): number {
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 30);
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600 };

/** Per-queue job options: how often to try and how long to keep finished jobs for inspection. */
export const JOB_OPTIONS = {
  grant: {
    attempts: 6,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  },
  revoke: {
    attempts: UNLIMITED_ATTEMPTS,
    backoff: { type: CAPPED_JITTER },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  },
  approvalTimeout: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  },
  verify: {
    attempts: 20,
    backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  },
  reconcile: {
    // The next sweep comes within a minute; a failed one is logged and counted, not retried.
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 100 },
  },
  auditWebhook: {
    // Retried until the receiver takes the event (a 4xx that no retry changes is skipped instead); the trail
    // waits meanwhile, so per-request order holds. Removed when done, so its fixed ID is free for the next run.
    attempts: UNLIMITED_ATTEMPTS,
    backoff: { type: CAPPED_JITTER },
    removeOnComplete: true,
    removeOnFail: true,
  },
  notify: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  },
} satisfies Record<string, DefaultJobOptions>;
