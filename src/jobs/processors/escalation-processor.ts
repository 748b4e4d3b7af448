import type { Job } from 'bullmq';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Logger } from '../../lib/logger';
import { requestJobSchema } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';

/** Escalates a request still undecided at its role's `escalateAfter`; one decided meanwhile is left alone. */
export function escalationProcessor(lifecycle: GrantLifecycle, logger: Logger) {
  return async (job: Job, token?: string): Promise<void> => {
    const { requestId } = parsePayload(requestJobSchema, job);
    const outcome = await lifecycle.escalate(requestId);
    if (outcome.kind === 'not-due') return sleepUntil(job, outcome.dueAt, token);
    logger.info({ requestId, outcome: outcome.kind }, 'escalation job finished');
  };
}
