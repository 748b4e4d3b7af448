import type { Job } from 'bullmq';
import type { SweepOptions } from '../../domain/expiry-sweep';
import type { GrantLifecycle } from '../../domain/grant-lifecycle';
import type { Clock } from '../../domain/ports';
import type { RevocationMonitor } from '../../domain/revocation-monitor';
import type { Logger } from '../../lib/logger';
import { expirySweepJobSchema, QUEUE_NAMES } from '../queues';
import { parsePayload } from './parse-payload';
import { sleepUntil } from './reschedule';
import { type RevocationMetrics, reportEnded } from './revoke-processor';

/**
 * Runs one expiry sweep: ends every grant due in the job's stretch of time, then logs each ending as the grant's own
 * revoke job would, and the sweep as a whole. A grant the sweep could not end is already in its own job's hands.
 */
export function expirySweepProcessor(
  lifecycle: GrantLifecycle,
  monitor: RevocationMonitor,
  metrics: RevocationMetrics,
  options: SweepOptions,
  clock: Clock,
  logger: Logger,
) {
  return async (job: Job, token?: string): Promise<void> => {
    const stretch = parsePayload(expirySweepJobSchema, job);
    const startedAt = clock.now();
    // The process that claimed the stretch read a clock ahead of this one: no grant ends before this clock says
    // it expired, as a revoke job that wakes early goes back to sleep.
    if (stretch.until > startedAt) return sleepUntil(job, stretch.until, token);
    const report = await lifecycle.sweepExpired(stretch, options);
    for (const { requestId, outcome } of report.ended) {
      if (outcome.kind === 'done') {
        reportEnded(requestId, outcome, metrics, logger);
      } else {
        logger.info({ requestId, outcome }, 'expiry sweep had nothing to do for this grant');
      }
    }
    for (const { requestId, step, error } of report.handedOff) {
      metrics.countJobFailure(QUEUE_NAMES.revoke);
      // The sweep's attempt is the grant's first, as the job counts it: with `alertAfter: 1` it alerts now.
      await monitor.failed(requestId, 1, error).catch((alertError: unknown) => {
        logger.error({ err: alertError, requestId }, 'could not raise the alert for a failing revocation');
      });
      logger.error(
        { err: error, requestId, step },
        'expiry sweep could not end this grant; its own revoke job retries',
      );
    }
    if (report.due > 0) {
      logger.info(
        {
          ...stretch,
          due: report.due,
          ended: report.ended.length,
          handedOff: report.handedOff.length,
          tookMs: clock.now() - startedAt,
        },
        'expiry sweep finished',
      );
    }
  };
}
