import type { Job } from 'bullmq';
import type { Reconciler } from '../../domain/reconciler';
import type { Logger } from '../../lib/logger';

/** One sweep of the store and the clouds. */
export function reconcileProcessor(reconciler: Reconciler, logger: Logger) {
  return async (job: Job): Promise<void> => {
    const report = await reconciler.reconcile();
    const acted =
      report.overdue + report.pendingTimedOut + report.grantsRescheduled + report.revokedFromCloud + report.drift;
    const level =
      report.failures.length > 0 || report.drift > 0 || report.overdue > 0 ? 'warn' : acted > 0 ? 'info' : 'debug';
    logger[level]({ jobId: job.id, report }, 'reconciler sweep finished');
  };
}
