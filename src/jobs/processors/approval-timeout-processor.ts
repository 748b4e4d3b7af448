import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Logger } from '../../lib/logger';
import { ESCALATION_JOB_NAME, requestJobSchema } from '../queues';
import { escalationProcessor } from './escalation-processor';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** Times out a request nobody decided before its deadline; escalations share the queue and go to their processor. */
export function approvalTimeoutProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  const escalate = escalationProcessor(lifecycle, logger);
  return async (job: Job, token?: string): Promise<void> => {
    if (job.name === ESCALATION_JOB_NAME) return escalate(job, token);
    const { requestId } = parsePayload(requestJobSchema, job);
    const outcome = await lifecycle.timeOutPending(requestId);
    if (outcome.kind === 'not-due') return sleepUntil(job, outcome.dueAt, token);
    logger.info({ requestId, outcome: outcome.kind }, 'approval timeout job finished');
  };
}
