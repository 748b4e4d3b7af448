import type { Queue } from 'bullmq';
import type { Alert, Alerter } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { ALERT_JOB_NAME, type AlertJob } from './queues';

/**
 * Raises alerts from anywhere (a revoke job, the reconciler, a listener) without waiting for Slack: the alert is
 * logged at once, then posted to the admin channel by the notify queue, which retries and honours Slack's
 * rate limits.
 */
export class QueuedAlerter implements Alerter {
  constructor(
    private readonly notifyQueue: Queue,
    private readonly logger: Logger,
  ) {}

  async alert(alert: Alert): Promise<void> {
    this.logger.error(
      { alert },
      alert.requestId === undefined ? `${alert.kind} alert` : `${alert.kind} alert for request ${alert.requestId}`,
    );
    try {
      await this.notifyQueue.add(ALERT_JOB_NAME, { alert } satisfies AlertJob);
    } catch (error) {
      // The log line above carries the alert; failing to queue it must not fail what raised it.
      this.logger.error({ err: error, alert }, 'could not queue the alert for the admin channel');
    }
  }
}
