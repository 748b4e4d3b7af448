import type { Job } from 'bullmq';
import type { NoticeService } from '../../domain/notice-service';
import type { Logger } from '../../lib/logger';
import { noticeJobSchema } from '../queues';
import { parsePayload } from './parse-payload';

/** Tries that wait for the approval message to be posted by its own notice before posting it anew (~4 s). */
const ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE = 4;

/** Tells people about one lifecycle event; retried a few times when Slack fails. */
export function notifyProcessor(notices: NoticeService, logger: Logger) {
  return async (job: Job): Promise<void> => {
    const { requestId, kind } = parsePayload(noticeJobSchema, job);
    try {
      const delivered = await notices.deliver(requestId, kind, {
        mayWaitForApprovalMessage: job.attemptsMade < ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE,
      });
      logger.debug({ requestId, kind, delivered }, 'notice delivered');
    } catch (error) {
      const level = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) ? 'error' : 'warn';
      logger[level]({ err: error, requestId, kind, attempt: job.attemptsMade + 1 }, 'notice not delivered');
      throw error;
    }
  };
}
