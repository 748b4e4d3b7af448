import { ErrorCode, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GrantLifecycle } from '../domain/grant-lifecycle';
import type { NoticeService } from '../domain/notice-service';
import type { Alerter, Clock } from '../domain/ports';
import type { Reconciler } from '../domain/reconciler';
import type { RevocationMonitor } from '../domain/revocation-monitor';
import type { Logger } from '../lib/logger';
import { isRedisConnectionError } from '../store/redis-connection';
import { approvalTimeoutProcessor } from './processors/approval-timeout-processor';
import {
  type AuditDeliveryCount,
  type AuditWebhookDeps,
  auditWebhookProcessor,
} from './processors/audit-webhook-processor';
import { expirySweepProcessor } from './processors/expiry-sweep-processor';
import { grantProcessor } from './processors/grant-processor';
import { notifyProcessor } from './processors/notify-processor';
import { reconcileProcessor } from './processors/reconcile-processor';
import { type RevocationMetrics, revokeProcessor } from './processors/revoke-processor';
import { verifyProcessor } from './processors/verify-processor';
import { EXPIRY_SWEEP_JOB_NAME, QUEUE_NAMES, type QueueKey } from './queues';
import { CAPPED_JITTER, cappedJitterBackoff, KEPT_WHEN_FINISHED, REVOKE_BACKOFF } from './retry-policy';
import { RevocationsFirst } from './revocations-first';

export interface WorkerDeps {
  /** A connection with `maxRetriesPerRequest: null`; BullMQ duplicates it for its blocking commands. */
  connection: Redis;
  prefix: string;
  lifecycle: GrantLifecycle;
  notices: NoticeService;
  /** Posts alerts to the admin channel for the notify queue (the domain raises them through a queued alerter). */
  alertPoster: Alerter;
  monitor: RevocationMonitor;
  reconciler: Reconciler;
  /** Where the audit webhook job reads the trail and keeps its place; it does nothing while no webhook is set. */
  auditWebhook: Omit<AuditWebhookDeps, 'countDelivery' | 'clock' | 'logger'>;
  metrics: JobMetrics;
  /** Times Slack's Retry-After pause, so shutdown knows whether the notify queue is still held back. */
  clock: Clock;
  logger: Logger;
  /**
   * How long a worker's claim on a job lasts without renewal (renewed while it runs). After a crash its jobs are
   * taken up by another worker once this has passed, so shorter means faster recovery.
   */
  lockDurationMs?: number;
  /** Grant and revoke jobs run at once in this process (the other kinds have fixed limits). */
  concurrency?: { grant: number; revoke: number };
}

/** What the job layer reports to the metrics. */
export interface JobMetrics extends RevocationMetrics {
  countJobFailure(queue: string): void;
  countSlackRateLimit(): void;
  countAuditWebhookEvent(outcome: AuditDeliveryCount): void;
}

/** Jobs of one kind run this many at a time per process; revocations get the most room. */
const CONCURRENCY: Readonly<Record<QueueKey, number>> = {
  grant: 50,
  revoke: 200,
  approvalTimeout: 10,
  notify: 10,
  verify: 10,
  reconcile: 1,
  // One sender at a time (its job ID is fixed anyway), so the trail arrives in order.
  auditWebhook: 1,
};

/**
 * BullMQ honours a manual rate limit (Slack's Retry-After, set through `rateLimit`) in every process, and for its
 * whole length, only on a worker that has a limiter; this one is far above anything Slack allows, so it never
 * binds by itself.
 */
const NOTIFY_LIMITER = { max: 1_000_000, duration: 1_000 };

/**
 * BullMQ could not finish a job because its lock is gone: Redis restarted and lost the last second of writes, or
 * the job ran past its lock and was taken as stalled. BullMQ runs such a job again (every job here is safe to
 * rerun), so nothing is lost; it is a consequence of the outage the Redis watch already reported, not an error.
 */
export function isLostJobLock(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === ErrorCode.JobLockNotExist;
}

export interface RunningWorkers {
  workers: readonly Worker[];
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

export function startWorkers(deps: WorkerDeps): RunningWorkers {
  const logger = deps.logger.child({ component: 'jobs' });
  let notifyWorker: Worker | undefined;
  let notifyPausedUntil = 0;
  const byKey = new Map<QueueKey, Worker>();
  const revoke = revokeProcessor(deps.lifecycle, deps.monitor, deps.metrics, deps.clock, logger);
  const heldBack = (['notify', 'verify'] as const).map((key) => ({
    pause: (doNotWaitActive?: boolean) => byKey.get(key)?.pause(doNotWaitActive) ?? Promise.resolve(),
    resume: () => byKey.get(key)?.resume(),
  }));
  const revocationsFirst = new RevocationsFirst(heldBack, deps.clock, logger);
  const concurrency: Record<QueueKey, number> = {
    ...CONCURRENCY,
    grant: deps.concurrency?.grant ?? CONCURRENCY.grant,
    revoke: deps.concurrency?.revoke ?? CONCURRENCY.revoke,
  };
  const sweep = expirySweepProcessor(
    deps.lifecycle,
    deps.monitor,
    deps.metrics,
    // Each of the sweep's cloud calls and records counts as a running revocation, as a revoke job does.
    {
      concurrency: concurrency.revoke,
      run: (work) => revocationsFirst.run(work),
      progress: (pass, done, of) => logger.info({ pass, done, of }, 'expiry sweep progress'),
    },
    deps.clock,
    logger,
  );
  const processors: Record<QueueKey, (job: Job, token?: string) => Promise<void>> = {
    grant: grantProcessor(deps.lifecycle, logger),
    revoke: (job, token) =>
      job.name === EXPIRY_SWEEP_JOB_NAME ? sweep(job, token) : revocationsFirst.run(() => revoke(job, token)),
    approvalTimeout: approvalTimeoutProcessor(deps.lifecycle, logger),
    notify: notifyProcessor({
      notices: deps.notices,
      alertPoster: deps.alertPoster,
      // Slack's limits hold for the whole workspace, so the whole notify queue waits, here and in other processes.
      pauseQueue: async (ms) => {
        notifyPausedUntil = Math.max(notifyPausedUntil, deps.clock.now() + ms);
        await notifyWorker?.rateLimit(ms);
      },
      countRateLimit: () => deps.metrics.countSlackRateLimit(),
      logger,
    }),
    verify: verifyProcessor(deps.lifecycle, logger),
    reconcile: reconcileProcessor(deps.reconciler, logger),
    auditWebhook: auditWebhookProcessor({
      ...deps.auditWebhook,
      countDelivery: (outcome) => deps.metrics.countAuditWebhookEvent(outcome),
      clock: deps.clock,
      logger: logger.child({ component: 'audit-webhook' }),
    }),
  };
  const workers = (Object.keys(processors) as QueueKey[]).map((key) => {
    const worker = new Worker(QUEUE_NAMES[key], processors[key], {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: concurrency[key],
      ...KEPT_WHEN_FINISHED[key],
      ...(key === 'notify' && { limiter: NOTIFY_LIMITER }),
      ...(deps.lockDurationMs !== undefined && {
        lockDuration: deps.lockDurationMs,
        stalledInterval: deps.lockDurationMs,
      }),
      settings: {
        backoffStrategy: (attemptsMade, type) =>
          type === CAPPED_JITTER ? cappedJitterBackoff(attemptsMade, REVOKE_BACKOFF) : 1_000,
      },
    });
    // Connection errors repeat on every reconnect attempt of every worker; the Redis watch reports the outage once.
    worker.on('error', (error) => {
      if (isRedisConnectionError(error)) return;
      if (isLostJobLock(error)) {
        logger.warn({ err: error, queue: QUEUE_NAMES[key] }, 'a running job lost its lock; BullMQ runs it again');
      } else {
        logger.error({ err: error, queue: QUEUE_NAMES[key] }, 'worker error');
      }
    });
    worker.on('failed', (job, error) => {
      deps.metrics.countJobFailure(QUEUE_NAMES[key]);
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        logger.error({ err: error, queue: QUEUE_NAMES[key], jobId: job.id }, 'job failed for good');
      }
    });
    if (key === 'notify') notifyWorker = worker;
    byKey.set(key, worker);
    return worker;
  });
  return {
    workers,
    async close() {
      // While Slack's Retry-After runs, BullMQ would hold shutdown until it ends; the notices it holds back are
      // back in their queue, not lost, so the notify worker then stops without waiting.
      revocationsFirst.stop();
      const rateLimited = deps.clock.now() < notifyPausedUntil;
      await Promise.all(workers.map((worker) => worker.close(rateLimited && worker === notifyWorker)));
    },
  };
}
