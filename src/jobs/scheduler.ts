import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock, JobScheduler, NoticeKind, ReminderKind } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { isRedisConnectionError } from '../store/redis-connection';
import {
  AUDIT_WEBHOOK_JOB_ID,
  ESCALATION_JOB_NAME,
  HOME_JOB_NAME,
  type HomeJob,
  homeRefreshSlot,
  jobIds,
  type NoticeJob,
  QUEUE_NAMES,
  type QueueKey,
  RECONCILE_SCHEDULER_ID,
  type RequestJob,
  type RevokeJob,
  revokeJobSchema,
} from './queues';
import { JOB_OPTIONS } from './retry-policy';

export type Queues = Readonly<Record<QueueKey, Queue>>;

/**
 * Entries each queue keeps in its BullMQ event stream. Nothing in the bot reads these streams (they feed
 * `QueueEvents` listeners, for people watching with BullMQ's tools); BullMQ's default of 10,000 per queue cost
 * Redis about 1 KB per grant while grants were being made.
 */
export const QUEUE_EVENTS_KEPT = 100;

/** One BullMQ queue per kind of work, sharing a connection that never gives up on a command. */
export function createQueues(connection: Redis, prefix: string, logger: Logger): Queues {
  const make = (key: QueueKey) => {
    const queue = new Queue(QUEUE_NAMES[key], {
      connection,
      prefix,
      defaultJobOptions: JOB_OPTIONS[key],
      streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
    });
    // Without a listener BullMQ prints connection errors raw to stderr, outside the structured log. Connection
    // errors repeat on every reconnect attempt; the container's Redis watch reports the outage once instead.
    queue.on('error', (error) => {
      if (!isRedisConnectionError(error)) logger.error({ err: error, queue: QUEUE_NAMES[key] }, 'queue error');
    });
    return queue;
  };
  return {
    grant: make('grant'),
    revoke: make('revoke'),
    approvalTimeout: make('approvalTimeout'),
    notify: make('notify'),
    verify: make('verify'),
    reconcile: make('reconcile'),
    auditWebhook: make('auditWebhook'),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}

/** `JobScheduler` on BullMQ. Job IDs are deterministic, so scheduling the same thing twice does it once. */
export class BullMqJobScheduler implements JobScheduler {
  /**
   * The people whose App Home redraw this process has queued in the current window. BullMQ would drop a second one
   * by its job ID, but only after the round trip that asks it: at 100 notices a second for one approver that is
   * 100 adds a second for two redraws.
   */
  private homeRefreshes = { window: Number.NaN, queued: new Set<string>() };

  constructor(
    private readonly queues: Queues,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async scheduleGrant(requestId: string, at?: number): Promise<void> {
    await this.queues.grant.add('grant', { requestId } satisfies RequestJob, {
      jobId: jobIds.grant(requestId),
      ...(at !== undefined && { delay: this.delayUntil(at) }),
    });
  }

  async cancelGrant(requestId: string): Promise<void> {
    try {
      await this.queues.grant.remove(jobIds.grant(requestId));
    } catch (error) {
      // A running grant job cannot be removed; it finds the request cancelled and takes back what it granted.
      this.logger.debug({ err: error, requestId }, 'grant job could not be removed');
    }
  }

  async scheduleRevocation(requestId: string, at: number): Promise<void> {
    const jobId = jobIds.revoke(requestId);
    const existing = await this.queues.revoke.getJob(jobId);
    if (existing && (await existing.getState()) === 'delayed') {
      try {
        await existing.changeDelay(this.delayUntil(at));
        return;
      } catch (error) {
        // It started meanwhile; the revoke step reads the stored expiry and sleeps again if it is early.
        this.logger.debug({ err: error, requestId }, 'revocation job was no longer delayed when moved');
        return;
      }
    }
    await this.queues.revoke.add('revoke', { requestId } satisfies RequestJob, { jobId, delay: this.delayUntil(at) });
  }

  async revokeNow(requestId: string, failedAttempts?: number): Promise<void> {
    const jobId = jobIds.revoke(requestId);
    const data: RevokeJob = { requestId, ...(failedAttempts !== undefined && { failedAttempts }) };
    const job = await this.queues.revoke.getJob(jobId);
    if (job) {
      const state = await job.getState();
      if (state === 'delayed') {
        try {
          if (failedAttempts !== undefined) {
            const before = revokeJobSchema.safeParse(job.data);
            const counted = Math.max(failedAttempts, (before.success && before.data.failedAttempts) || 0);
            await job.updateData({ requestId, failedAttempts: counted } satisfies RevokeJob);
          }
          await job.promote();
          return;
        } catch (error) {
          // It left the delayed set between the two calls: it is running or done, and the check below decides.
          this.logger.debug({ err: error, requestId }, 'revocation job was no longer delayed when promoted');
        }
      }
      const now = await job.getState();
      if (now === 'active' || now === 'waiting' || now === 'prioritized' || now === 'waiting-children') return;
      // A finished job keeps its ID for a while; remove it so the new run is not deduplicated away.
      await job.remove().catch((error: unknown) => {
        this.logger.warn({ err: error, requestId }, 'could not remove finished revocation job');
      });
    }
    await this.queues.revoke.add('revoke', data, { jobId });
  }

  async scheduleApprovalTimeout(requestId: string, at: number): Promise<void> {
    await this.queues.approvalTimeout.add('approval-timeout', { requestId } satisfies RequestJob, {
      jobId: jobIds.approvalTimeout(requestId),
      delay: this.delayUntil(at),
    });
  }

  async cancelApprovalTimeout(requestId: string): Promise<void> {
    try {
      await this.queues.approvalTimeout.remove(jobIds.approvalTimeout(requestId));
    } catch (error) {
      // A running timeout job cannot be removed; it finds the request decided and does nothing.
      this.logger.debug({ err: error, requestId }, 'approval timeout job could not be removed');
    }
  }

  async scheduleEscalation(requestId: string, at: number): Promise<void> {
    await this.queues.approvalTimeout.add(ESCALATION_JOB_NAME, { requestId } satisfies RequestJob, {
      jobId: jobIds.escalation(requestId),
      delay: this.delayUntil(at),
    });
  }

  /**
   * The job's ID makes a second one a no-op while the first waits, runs or is kept. Queued again once its job is
   * gone, the notice runs again and finds every part it posted recorded with the request
   * (`RequestStore.recordNoticeStep`), so it posts nothing twice; a BullMQ deduplication key per notice would cost
   * Redis about 150 bytes for an hour (docs/BENCHMARKS.md).
   */
  async scheduleNotice(requestId: string, kind: NoticeKind, version: number): Promise<void> {
    await this.queues.notify.add(kind, { requestId, kind, version } satisfies NoticeJob, {
      jobId: jobIds.notice(requestId, kind, version),
    });
  }

  async scheduleHomeRefresh(userId: string): Promise<void> {
    const { window, runAt } = homeRefreshSlot(userId, this.clock.now());
    if (this.homeRefreshes.window !== window) this.homeRefreshes = { window, queued: new Set() };
    const { queued } = this.homeRefreshes;
    if (queued.has(userId)) return;
    queued.add(userId);
    try {
      await this.queues.notify.add(HOME_JOB_NAME, { userId } satisfies HomeJob, {
        jobId: jobIds.homeRefresh(userId, window),
        delay: this.delayUntil(runAt),
      });
    } catch (error) {
      queued.delete(userId);
      throw error;
    }
  }

  async scheduleReminder(requestId: string, kind: ReminderKind, at: number, version: number): Promise<void> {
    await this.queues.notify.add(kind, { requestId, kind, version } satisfies NoticeJob, {
      jobId: jobIds.reminder(requestId, kind, at),
      delay: this.delayUntil(at),
    });
  }

  async scheduleRevocationCheck(requestId: string, at: number): Promise<void> {
    await this.queues.verify.add('verify', { requestId } satisfies RequestJob, {
      jobId: jobIds.revocationCheck(requestId),
      delay: this.delayUntil(at),
    });
  }

  /** Runs the reconciler every `everyMs`, once across all processes (BullMQ job scheduler, upserted at start). */
  async scheduleReconciler(everyMs: number): Promise<void> {
    await this.queues.reconcile.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: everyMs },
      { name: 'reconcile', data: {} },
    );
  }

  /**
   * Asks for the audit webhook to send what is new. A no-op while the job runs or waits out its backoff (its ID is
   * fixed), so calling it often costs one Redis call and never starts a second sender.
   */
  async sendAuditTrail(): Promise<void> {
    await this.queues.auditWebhook.add('audit-webhook', {}, { jobId: AUDIT_WEBHOOK_JOB_ID });
  }

  private delayUntil(at: number): number {
    return Math.max(0, at - this.clock.now());
  }
}
