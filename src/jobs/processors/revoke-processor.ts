import type { Job } from 'bullmq';
import type { GrantLifecycle, LifecycleOutcome } from '../../domain/grant-lifecycle';
import type { Clock } from '../../domain/ports';
import type { RevocationMonitor } from '../../domain/revocation-monitor';
import type { Logger } from '../../lib/logger';
import { QUEUE_NAMES, type RevokeJob, revokeJobSchema } from '../queues';
import { cappedJitterBackoff, REVOKE_BACKOFF } from '../retry-policy';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** What the revoke job reports to the metrics. */
export interface RevocationMetrics {
  observeRevocationLateness(ms: number): void;
  countJobFailure(queue: string): void;
}

/**
 * Ends an active grant at its expiry or on early revocation. The same job wakes first at the expiry reminder (the
 * domain queues it) and sleeps on until the expiry. A failed attempt puts the job back to sleep for the capped
 * jitter backoff and counts itself in the job's data, without end: the job retries itself rather than through
 * BullMQ's attempts and backoff, whose options would make every waiting revoke job twice the size in Redis.
 */
export function revokeProcessor(
  lifecycle: GrantLifecycle,
  monitor: RevocationMonitor,
  metrics: RevocationMetrics,
  clock: Clock,
  logger: Logger,
) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId, failedAttempts } = parsePayload(revokeJobSchema, job);
    // Jobs queued by earlier versions were retried by BullMQ, which counted their failures itself.
    const failedBefore = failedAttempts ?? job.attemptsMade;
    let outcome: Awaited<ReturnType<GrantLifecycle['finishAccess']>>;
    try {
      outcome = await lifecycle.finishAccess(requestId);
    } catch (error) {
      const attempt = failedBefore + 1;
      const retryInMs = cappedJitterBackoff(attempt, REVOKE_BACKOFF);
      logger.error({ err: error, requestId, attempt, retryInMs }, 'revocation failed; will retry');
      metrics.countJobFailure(QUEUE_NAMES.revoke);
      await monitor.failed(requestId, attempt, error).catch((alertError: unknown) => {
        logger.error({ err: alertError, requestId }, 'could not raise the alert for a failing revocation');
      });
      await job.updateData({ requestId, failedAttempts: attempt } satisfies RevokeJob);
      return sleepUntil(job, clock.now() + retryInMs, token);
    }
    // Only a failed attempt can have marked it irrevocable (`monitor.failed`); a first attempt saves the round trip.
    if (failedBefore > 0) await monitor.succeeded(requestId);
    if (outcome.kind === 'not-due') {
      if (outcome.reminderQueued) logger.debug({ requestId, expiresAt: outcome.dueAt }, 'expiry reminder queued');
      return sleepUntil(job, outcome.dueAt, token);
    }
    if (outcome.kind === 'done') reportEnded(requestId, outcome, metrics, logger);
    else logger.info({ requestId, why: outcome.why }, 'revoke job had nothing to do');
  };
}

/** Logs a grant's ending and counts its lateness, whether its own job or an expiry sweep ended it. */
export function reportEnded(
  requestId: string,
  outcome: Extract<LifecycleOutcome, { kind: 'done' }>,
  metrics: RevocationMetrics,
  logger: Logger,
): void {
  if (outcome.latenessMs !== undefined) metrics.observeRevocationLateness(outcome.latenessMs);
  logger.info(
    { requestId, state: outcome.request.state, latenessMs: outcome.latenessMs, reasserted: outcome.reasserted },
    `access for ${requestId} ${outcome.request.state}`,
  );
}
