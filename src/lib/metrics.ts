import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger';

/** What kind of Slack request an acknowledgement answered. */
export type AckKind = 'command' | 'action' | 'view' | 'event' | 'other';

/** Where the request gauges come from at scrape time; the store implements it with a few O(1) reads. */
export interface StoreGaugeReader {
  /** Requests per state, every state present (0 when empty). */
  requestsByState(): Promise<Readonly<Record<string, number>>>;
  /** Grants currently active. */
  activeGrants(): Promise<number>;
  /** Grants whose revocation keeps failing and has not yet succeeded. */
  irrevocableGrants(): Promise<number>;
}

/** A job queue as the metrics see it: a BullMQ `Queue` fits. */
export interface JobCountSource {
  readonly name: string;
  getJobCounts(): Promise<Readonly<Record<string, number>>>;
}

export interface MetricsSources {
  store: StoreGaugeReader;
  queues: readonly JobCountSource[];
  logger: Logger;
  /** How long one scrape waits for Redis before leaving a gauge out (default 2 s). */
  readTimeoutMs?: number;
}

/** Revocation lateness spans a timer firing on time (ms) to workers down for minutes. */
const LATENESS_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Slack allows 3 s for an ack; the target is under 50 ms, so most buckets sit below that. */
const ACK_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5];
const DEFAULT_READ_TIMEOUT_MS = 2_000;

/**
 * The bot's Prometheus metrics, on a registry of its own (several bots in one test process must not collide).
 * Gauges of stored state are read from Redis when scraped, so every process reports the same truth and nothing
 * has to keep them in step; counters and histograms are this process's own.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly revocationLateness: Histogram;
  private readonly jobFailures: Counter<'queue'>;
  private readonly slackRateLimited: Counter;
  private readonly ackLatency: Histogram<'kind'>;
  private readonly auditEvents: Counter<'outcome'>;

  constructor(sources: MetricsSources) {
    const { store, queues, logger } = sources;
    const timeoutMs = sources.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    // A scrape while Redis is away must still answer (process metrics, counters), and must not report stale
    // numbers as current: the gauge is left out of that scrape instead.
    const readInto = async <T>(gauge: Gauge<string>, read: () => Promise<T>, set: (value: T) => void) => {
      try {
        set(await withTimeout(read(), timeoutMs));
      } catch (error) {
        gauge.reset();
        gauge.remove({}); // reset() alone leaves an unlabelled gauge at 0, which would read as "none"
        logger.warn(
          { err: error, metric: nameOf(gauge) },
          'could not read a metric from Redis; left out of this scrape',
        );
      }
    };

    const requests: Gauge<'state'> = new Gauge({
      name: 'jit_requests',
      help: 'Access requests in each state, as stored.',
      labelNames: ['state'],
      registers,
      collect: () =>
        readInto(
          requests,
          () => store.requestsByState(),
          (counts) => {
            for (const [state, count] of Object.entries(counts)) requests.set({ state }, count);
          },
        ),
    });
    const grantsActive: Gauge = new Gauge({
      name: 'jit_grants_active',
      help: 'Grants currently active.',
      registers,
      collect: () =>
        readInto(
          grantsActive,
          () => store.activeGrants(),
          (count) => grantsActive.set(count),
        ),
    });
    const irrevocable: Gauge = new Gauge({
      name: 'jit_irrevocable_grants',
      help: 'Grants past their end whose revocation keeps failing; non-zero needs a person.',
      registers,
      collect: () =>
        readInto(
          irrevocable,
          () => store.irrevocableGrants(),
          (count) => irrevocable.set(count),
        ),
    });
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'jit_queue_jobs',
      help: 'Jobs in each BullMQ queue, by job state.',
      labelNames: ['queue', 'state'],
      registers,
      collect: () =>
        readInto(
          queueJobs,
          () => Promise.all(queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts() }))),
          (all) => {
            for (const { queue, counts } of all) {
              for (const [state, count] of Object.entries(counts)) queueJobs.set({ queue, state }, count);
            }
          },
        ),
    });

    this.revocationLateness = new Histogram({
      name: 'jit_revocation_lateness_seconds',
      help: 'Time from a grant’s expiry to its revocation taking effect.',
      buckets: LATENESS_BUCKETS_SECONDS,
      registers,
    });
    this.jobFailures = new Counter({
      name: 'jit_job_failures_total',
      help: 'Failed job attempts, by queue.',
      labelNames: ['queue'],
      registers,
    });
    this.slackRateLimited = new Counter({
      name: 'jit_slack_rate_limited_total',
      help: 'Times Slack answered a job’s call with 429 and the notice and alert queue paused for its Retry-After.',
      registers,
    });
    this.ackLatency = new Histogram({
      name: 'jit_slack_ack_seconds',
      help: 'Time from receiving a Slack request to acknowledging it, by kind of request.',
      labelNames: ['kind'],
      buckets: ACK_BUCKETS_SECONDS,
      registers,
    });
    this.auditEvents = new Counter({
      name: 'jit_audit_webhook_events_total',
      help: 'Audit events sent to settings.auditWebhook, by outcome: delivered (2xx), rejected (4xx, skipped), failed (an attempt to retry).',
      labelNames: ['outcome'],
      registers,
    });
  }

  /**
   * Counts one audit webhook delivery attempt.
   * @param outcome - `delivered` (2xx), `rejected` (a 4xx no retry changes; the event was skipped) or `failed`
   *   (5xx, 408, 429, timeout or network error; it is retried).
   */
  countAuditWebhookEvent(outcome: 'delivered' | 'rejected' | 'failed'): void {
    this.auditEvents.inc({ outcome });
  }

  /**
   * Records how late a revocation was: from the grant's expiry to the revocation succeeding. Call once per grant
   * ended on or after its expiry (not for early revocations); a negative value counts as 0.
   * @param ms - milliseconds past the expiry.
   */
  observeRevocationLateness(ms: number): void {
    this.revocationLateness.observe(Math.max(0, ms) / 1000);
  }

  /**
   * Counts one failed job attempt, including attempts that a retry later makes good.
   * @param queue - the BullMQ queue name (e.g. `jit-revoke`), the same value as the `queue` label of
   *   `jit_queue_jobs`.
   */
  countJobFailure(queue: string): void {
    this.jobFailures.inc({ queue });
  }

  /** Counts one 429 from Slack that paused the notify queue. */
  countSlackRateLimit(): void {
    this.slackRateLimited.inc();
  }

  /**
   * Records how long Slack waited for an acknowledgement.
   * @param ms - from receiving the request (or Socket Mode envelope) to the acknowledgement being sent.
   * @param kind - what Slack sent; see `ackKindOf` in `slack/ack-kind.ts`.
   */
  observeAckLatency(ms: number, kind: AckKind): void {
    this.ackLatency.observe({ kind }, Math.max(0, ms) / 1000);
  }

  /** The Prometheus text exposition of every metric, reading the Redis-backed gauges now. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Rejects if `work` takes longer than `ms`; the work itself is left to finish on its own. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** prom-client keeps the name on the instance without typing it. */
function nameOf(metric: object): string {
  const { name } = metric as { name?: unknown };
  return typeof name === 'string' ? name : 'unknown';
}
