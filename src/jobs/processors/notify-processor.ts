import type { Job } from 'bullmq';
import { z } from 'zod';
import type { NoticeService } from '../../domain/notice-service';
import { NOTICE_STEPS, type NoticeStep } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { noticeJobSchema } from '../queues';
import { parsePayload } from './parse-payload';

/** Tries that wait for the approval message to be posted by its own notice before posting it anew (~4 s). */
const ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE = 4;

/** The job's progress records which parts of the notice were delivered, so a retry skips them. */
const progressSchema = z.object({ noticeStepsDone: z.array(z.enum(NOTICE_STEPS)) });

/** Tells people about one lifecycle event; parts that fail are retried a few times. */
export function notifyProcessor(notices: NoticeService, logger: Logger) {
  return async (job: Job): Promise<void> => {
    const { requestId, kind } = parsePayload(noticeJobSchema, job);
    const previous = progressSchema.safeParse(job.progress);
    const done = new Set<NoticeStep>(previous.success ? previous.data.noticeStepsDone : []);
    try {
      const delivered = await notices.deliver(requestId, kind, {
        mayWaitForApprovalMessage: job.attemptsMade < ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE,
        done,
        markDone: async (step) => {
          done.add(step);
          await job.updateProgress({ noticeStepsDone: [...done] });
        },
      });
      logger.debug({ requestId, kind, delivered }, 'notice delivered');
    } catch (error) {
      const level = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) ? 'error' : 'warn';
      logger[level](
        { err: error, requestId, kind, attempt: job.attemptsMade + 1, done: [...done] },
        'notice not fully delivered',
      );
      throw error;
    }
  };
}
