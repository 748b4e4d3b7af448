import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** Times out a request nobody decided before its deadline. */
export function approvalTimeoutProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    const outcome = await lifecycle.timeOutPending(requestId);
    if (outcome.kind === 'not-due') return sleepUntil(job, outcome.dueAt, token);
    logger.info({ requestId, outcome: outcome.kind }, 'approval timeout job finished');
  };
}
