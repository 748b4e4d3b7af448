import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** Ends an active grant at its expiry or on early revocation. Failures are retried without end. */
export function revokeProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    let outcome: Awaited<ReturnType<GrantLifecycle['finishAccess']>>;
    try {
      outcome = await lifecycle.finishAccess(requestId);
    } catch (error) {
      logger.error({ err: error, requestId, attempt: job.attemptsMade + 1 }, 'revocation failed; will retry');
      throw error;
    }
    if (outcome.kind === 'not-due') return sleepUntil(job, outcome.dueAt, token);
    if (outcome.kind === 'done') {
      logger.info(
        { requestId, state: outcome.request.state, latenessMs: outcome.latenessMs },
        `access for ${requestId} ${outcome.request.state}`,
      );
    } else {
      logger.info({ requestId, why: outcome.why }, 'revoke job had nothing to do');
    }
  };
}
