/** How each kind of job is retried, and what is kept of it once finished. */
import type { DefaultJobOptions, WorkerOptions } from 'bullmq';

type KeptWhenFinished = Pick<WorkerOptions, 'removeOnComplete' | 'removeOnFail'>;

/**
 * Name of the backoff that grows exponentially up to a cap, with full jitter (see `cappedJitterBackoff`). Revoke
 * jobs queued by earlier versions name it; the workers still honour it.
 */
export const CAPPED_JITTER = 'capped-jitter';

export interface CappedBackoff {
  baseMs: number;
  capMs: number;
}

/** Revocations retry without end, at most this far apart (the revoke job's own retry, see `revokeProcessor`). */
export const REVOKE_BACKOFF: CappedBackoff = { baseMs: 1_000, capMs: 5 * 60_000 };

/**
 * BullMQ's attempts for a revoke job, which retries by itself and so never uses them: they only matter should
 * putting the job back to sleep fail (Redis gone mid-step), when BullMQ runs it again at once rather than failing
 * it. Short in JSON on purpose: with its options at 64 bytes or less, Redis keeps each waiting revoke job as a
 * compact listpack, about 420 bytes less per active grant than `Number.MAX_SAFE_INTEGER` with a backoff allowed.
 */
const REVOKE_ATTEMPTS = 1_000_000;

/** Retried through BullMQ without end (it needs a number; this one is never reached). */
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

/**
 * Finished jobs kept for inspection: the last hundred completed of each queue, and failed ones for a week. Every
 * transition is in the audit trail already; a completed job kept for a day cost Redis about 1 KB per grant for
 * each of the grant, its notices and its App Home redraws. A notice queued again once its job is gone posts
 * nothing twice: its parts delivered are recorded with the request (`RequestStore.recordNoticeStep`).
 */
export const KEEP_JOBS = {
  removeOnComplete: { count: 100 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const satisfies KeptWhenFinished;

/**
 * Per-queue job options: how often to try and how to back off. What is kept once finished (`KEEP_JOBS`, or the
 * audit webhook's and the reconciler's own) is set on the workers, so it is not copied into every job's hash.
 */
export const JOB_OPTIONS = {
  grant: {
    attempts: 6,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  },
  revoke: { attempts: REVOKE_ATTEMPTS },
  approvalTimeout: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  },
  verify: {
    attempts: 20,
    backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 },
  },
  reconcile: {
    // The next sweep comes within a minute; a failed one is logged and counted, not retried.
    attempts: 1,
  },
  auditWebhook: {
    // Retried until the receiver takes the event (a 4xx that no retry changes is skipped instead); the trail
    // waits meanwhile, so per-request order holds.
    attempts: UNLIMITED_ATTEMPTS,
    backoff: { type: CAPPED_JITTER },
  },
  notify: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
  },
} satisfies Record<string, DefaultJobOptions>;

/**
 * An expiry sweep that fails as a whole (Redis gone mid-sweep) runs again; the grants it had ended are no longer
 * active and are skipped. Each grant also has its own revoke job as a backstop, so the sweep's retries are few.
 */
export const EXPIRY_SWEEP_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
} satisfies DefaultJobOptions;

/** What each queue's worker keeps of the jobs it finished (BullMQ applies it to jobs that do not say). */
export const KEPT_WHEN_FINISHED = {
  grant: KEEP_JOBS,
  revoke: KEEP_JOBS,
  approvalTimeout: KEEP_JOBS,
  verify: KEEP_JOBS,
  reconcile: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  // Removed when done, so its fixed ID is free for the next run.
  auditWebhook: { removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } },
  notify: KEEP_JOBS,
} satisfies Record<keyof typeof JOB_OPTIONS, KeptWhenFinished>;
