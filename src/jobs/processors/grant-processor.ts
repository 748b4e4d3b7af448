import { type Job, UnrecoverableError } from 'bullmq';
import { CloudProviderError } from '../../domain/errors';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import { GrantRefused } from '../../domain/grant-refusal';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** Grants an approved request; marks it failed when no retry can help or the attempts are used up. */
export function grantProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    let outcome: Awaited<ReturnType<GrantLifecycle['activate']>>;
    try {
      outcome = await lifecycle.activate(requestId);
    } catch (error) {
      const permanent = (error instanceof CloudProviderError || error instanceof GrantRefused) && !error.retryable;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!permanent && !lastAttempt) {
        logger.warn({ err: error, requestId, attempt: job.attemptsMade + 1 }, 'grant failed; will retry');
        throw error;
      }
      const reason = error instanceof Error ? error.message : String(error);
      const refusal = error instanceof GrantRefused ? error.refusal : undefined;
      const { cleanupError } = await lifecycle.failGrant(requestId, reason, refusal);
      logger.error(
        { err: error, requestId, permanent, attempts: job.attemptsMade + 1 },
        'grant failed; request marked failed',
      );
      if (cleanupError) logger.error({ err: cleanupError, requestId }, 'could not clean up after a failed grant');
      throw new UnrecoverableError(reason);
    }
    // Woke before the scheduled start (the reconciler re-added it, or the clock moved): back to sleep until then.
    if (outcome.kind === 'not-due') return sleepUntil(job, outcome.dueAt, token);
    logger.info(
      { requestId, jobId: job.id, outcome: outcome.kind, ...('why' in outcome && { why: outcome.why }) },
      'grant job finished',
    );
  };
}
