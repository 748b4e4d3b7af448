import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { RevocationMonitor } from '../../domain/revocation-monitor';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** What the revoke job reports to the metrics. */
export interface RevocationMetrics {
  observeRevocationLateness(ms: number): void;
}

/**
 * Ends an active grant at its expiry or on early revocation. The same job wakes first at the expiry reminder (the
 * domain queues it) and sleeps on until the expiry. Failures are retried without end.
 */
export function revokeProcessor(
  lifecycle: GrantLifecycle,
  monitor: RevocationMonitor,
  metrics: RevocationMetrics,
  logger: Logger,
) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    let outcome: Awaited<ReturnType<GrantLifecycle['finishAccess']>>;
    try {
      outcome = await lifecycle.finishAccess(requestId);
    } catch (error) {
      const attempt = job.attemptsMade + 1;
      logger.error({ err: error, requestId, attempt }, 'revocation failed; will retry');
      await monitor.failed(requestId, attempt, error).catch((alertError: unknown) => {
        logger.error({ err: alertError, requestId }, 'could not raise the alert for a failing revocation');
      });
      throw error;
    }
    // Only a failed attempt can have marked it irrevocable (`monitor.failed`); a first attempt saves the round trip.
    if (job.attemptsMade > 0) await monitor.succeeded(requestId);
    if (outcome.kind === 'not-due') {
      if (outcome.reminderQueued) logger.debug({ requestId, expiresAt: outcome.dueAt }, 'expiry reminder queued');
      return sleepUntil(job, outcome.dueAt, token);
    }
    if (outcome.kind === 'done') {
      if (outcome.latenessMs !== undefined) metrics.observeRevocationLateness(outcome.latenessMs);
      logger.info(
        { requestId, state: outcome.request.state, latenessMs: outcome.latenessMs, reasserted: outcome.reasserted },
        `access for ${requestId} ${outcome.request.state}`,
      );
    } else {
      logger.info({ requestId, why: outcome.why }, 'revoke job had nothing to do');
    }
  };
}
