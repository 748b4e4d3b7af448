import { type Job, Worker } from 'bullmq';
import { z } from 'zod';
import { ApprovalMessageNotYetPosted, type NoticeService } from '../../domain/notice-service';
import { type Alerter, NOTICE_STEPS } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import {
  ALERT_JOB_NAME,
  alertJobSchema,
  HOME_JOB_NAME,
  homeJobSchema,
  noticeJobSchema,
  noticeName,
  writtenAlertJobSchema,
} from '../queues';
import { rateLimitDelayMs } from '../rate-limit';
import { parsePayload } from './parse-payload';

/** Tries that wait for the approval message to be posted by its own notice before posting it anew (~4 s). */
const ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE = 4;

/**
 * Where earlier versions recorded the parts of a notice delivered: in the job's progress. A job of theirs still
 * retrying is honoured; parts are now recorded with the request (`RequestStore.recordNoticeStep`).
 */
const progressSchema = z.object({ noticeStepsDone: z.array(z.enum(NOTICE_STEPS)) });

export interface NotifyDeps {
  notices: NoticeService;
  /** Posts an alert to the admin channel now, throwing when Slack did not take it. */
  alertPoster: Alerter;
  /** Pauses the whole notify queue for this long (Slack's Retry-After). */
  pauseQueue: (ms: number) => Promise<void>;
  /** Counts a 429 from Slack. */
  countRateLimit: () => void;
  logger: Logger;
}

/**
 * Tells people about one lifecycle event, redraws one App Home, or posts one alert. Parts that fail are retried a few times; a 429 from
 * Slack pauses this queue for its Retry-After and puts the job back without using up an attempt. Revocations run
 * on their own queue, so nothing here ever holds one up.
 */
export function notifyProcessor(deps: NotifyDeps) {
  const { logger } = deps;
  return async (job: Job): Promise<void> => {
    try {
      if (job.name === ALERT_JOB_NAME) {
        const written = alertJobSchema.safeParse(job.data).success
          ? undefined
          : writtenAlertJobSchema.safeParse(job.data);
        if (written?.success) {
          const { kind, requestId, message } = written.data.alert;
          logger.error({ jobId: job.id, kind, requestId }, `alert from an earlier version, not posted: ${message}`);
          return;
        }
        const { alert } = parsePayload(alertJobSchema, job);
        await deps.alertPoster.alert(alert);
        return;
      }
      if (job.name === HOME_JOB_NAME) {
        await deps.notices.refreshHome(parsePayload(homeJobSchema, job).userId);
        return;
      }
      await deliverNotice(job, deps);
    } catch (error) {
      const pauseMs = rateLimitDelayMs(error);
      if (pauseMs !== undefined) {
        logger.warn({ jobId: job.id, job: job.name, retryAfterMs: pauseMs }, 'Slack is rate limiting; notices wait');
        deps.countRateLimit();
        await deps.pauseQueue(pauseMs);
        throw Worker.RateLimitError();
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!lastAttempt && error instanceof ApprovalMessageNotYetPosted) {
        // The usual race, not a fault: this notice was queued before the approval message's own one ran.
        logger.debug(
          { jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 },
          'notice waits for its approval message',
        );
        throw error;
      }
      logger[lastAttempt ? 'error' : 'warn'](
        { err: error, jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 },
        'notify job failed',
      );
      throw error;
    }
  };
}

async function deliverNotice(job: Job, deps: NotifyDeps): Promise<void> {
  const { requestId, kind } = parsePayload(noticeJobSchema, job);
  const previous = progressSchema.safeParse(job.progress);
  const delivered = await deps.notices.deliver(requestId, kind, {
    notice: noticeName(String(job.id), requestId),
    mayWaitForApprovalMessage: job.attemptsMade < ATTEMPTS_WAITING_FOR_APPROVAL_MESSAGE,
    ...(previous.success && { doneBefore: previous.data.noticeStepsDone }),
  });
  deps.logger.debug({ requestId, kind, delivered }, 'notice delivered');
}
