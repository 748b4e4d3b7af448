import type { JobScheduler, NoticeKind, ReminderKind } from '../../../src/domain/ports';
import { homeRefreshSlot, jobIds } from '../../../src/jobs/queues';
import type { ManualClock } from './clock';

/** Each kind of job `JobScheduler` can make. */
export type JobKind =
  | 'grant'
  | 'revoke'
  | 'approval-timeout'
  | 'escalation'
  | 'notice'
  | 'reminder'
  | 'home-refresh'
  | 'revocation-check';

/** One job as scheduled: its deterministic ID (the real one), what it is about, and when it is due. */
export interface RecordedJob {
  id: string;
  kind: JobKind;
  /** Absent only on home refreshes. */
  requestId?: string;
  /** On home refreshes. */
  userId?: string;
  /** On notices and reminders. */
  noticeKind?: NoticeKind;
  /** On revocations run now after failing elsewhere (an expiry sweep): the attempts that failed there. */
  failedAttempts?: number;
  version?: number;
  runAt: number;
  /** `pending` is BullMQ's waiting or delayed (due or not); `running` is active. */
  state: 'pending' | 'running' | 'completed' | 'failed';
  /** What the handler threw, when it failed. */
  error?: unknown;
}

/**
 * The expiry watch and its sweeps, as every process with workers runs them (see `ExpiryWatch`): at each expiry
 * after the watermark, the stretch up to now is swept.
 */
export interface ExpirySweeps {
  /** The earliest expiry of an active grant after `after`, if any. */
  nextExpiry(after: number): Promise<number | undefined>;
  sweep(stretch: { after: number; until: number }): Promise<unknown>;
}

/** What runs a due job of each kind; jobs of a kind without a handler stay pending. With `expirySweeps`, sweeps run. */
export type JobHandlers = Partial<Record<JobKind, (job: RecordedJob) => unknown>> & { expirySweeps?: ExpirySweeps };

/** A handler's `not-due` outcome (see `LifecycleOutcome`): the job sleeps until `dueAt`, as BullMQ's processors do. */
function isNotDue(outcome: unknown): outcome is { kind: 'not-due'; dueAt: number } {
  const candidate = outcome as { kind?: unknown; dueAt?: unknown } | undefined;
  return candidate?.kind === 'not-due' && typeof candidate.dueAt === 'number';
}

/** More runs than this in one call are taken for a job that keeps scheduling itself. */
const MAX_RUNS = 10_000;

/**
 * A `JobScheduler` that records jobs with the BullMQ scheduler's IDs and rules: adding an ID that exists (pending,
 * running or finished and kept) does nothing; a delayed revocation is moved, not duplicated; `revokeNow` promotes a
 * delayed one, leaves a running one and re-adds a finished one; a running approval timeout cannot be cancelled; home
 * refreshes share a window; a handler that reports `not-due` puts its job back to sleep until `dueAt` (so the revoke
 * job wakes at the expiry reminder, then at the expiry). Nothing runs by itself: `runDue` and `advanceTo` run due jobs
 * through the test's handlers.
 */
export class InMemoryJobScheduler implements JobScheduler {
  private readonly byId = new Map<string, RecordedJob>();
  /** Expiries up to here have been swept, as the watermark in Redis. */
  private swept = 0;
  /** Sweeps run, in order. */
  readonly sweeps: Array<{ after: number; until: number }> = [];

  constructor(private readonly clock: ManualClock) {}

  async scheduleGrant(requestId: string, at?: number): Promise<void> {
    this.add({ id: jobIds.grant(requestId), kind: 'grant', requestId, runAt: Math.max(at ?? 0, this.clock.now()) });
  }

  /** As BullMQ's `Queue.remove`: a running job stays. */
  async cancelGrant(requestId: string): Promise<void> {
    const id = jobIds.grant(requestId);
    if (this.byId.get(id)?.state !== 'running') this.byId.delete(id);
  }

  async scheduleRevocation(requestId: string, at: number): Promise<void> {
    const existing = this.byId.get(jobIds.revoke(requestId));
    if (existing && this.isDelayed(existing)) {
      existing.runAt = Math.max(at, this.clock.now());
      return;
    }
    this.add({ id: jobIds.revoke(requestId), kind: 'revoke', requestId, runAt: Math.max(at, this.clock.now()) });
  }

  async revokeNow(requestId: string, failedAttempts?: number): Promise<void> {
    const id = jobIds.revoke(requestId);
    const existing = this.byId.get(id);
    const counted = failedAttempts !== undefined ? { failedAttempts } : {};
    if (existing) {
      if (this.isDelayed(existing)) {
        existing.runAt = this.clock.now();
        Object.assign(existing, counted);
        return;
      }
      if (existing.state === 'pending' || existing.state === 'running') return;
      this.byId.delete(id);
    }
    this.add({ id, kind: 'revoke', requestId, runAt: this.clock.now(), ...counted });
  }

  async scheduleEscalation(requestId: string, at: number): Promise<void> {
    this.add({ id: jobIds.escalation(requestId), kind: 'escalation', requestId, runAt: at });
  }

  async scheduleApprovalTimeout(requestId: string, at: number): Promise<void> {
    this.add({ id: jobIds.approvalTimeout(requestId), kind: 'approval-timeout', requestId, runAt: at });
  }

  async cancelApprovalTimeout(requestId: string): Promise<void> {
    const id = jobIds.approvalTimeout(requestId);
    if (this.byId.get(id)?.state !== 'running') this.byId.delete(id);
  }

  async scheduleNotice(requestId: string, kind: NoticeKind, version: number): Promise<void> {
    this.add({
      id: jobIds.notice(requestId, kind, version),
      kind: 'notice',
      requestId,
      noticeKind: kind,
      version,
      runAt: this.clock.now(),
    });
  }

  async scheduleHomeRefresh(userId: string): Promise<void> {
    const { window, runAt } = homeRefreshSlot(userId, this.clock.now());
    this.add({ id: jobIds.homeRefresh(userId, window), kind: 'home-refresh', userId, runAt });
  }

  async scheduleReminder(requestId: string, kind: ReminderKind, at: number, version: number): Promise<void> {
    this.add({
      id: jobIds.reminder(requestId, kind, at),
      kind: 'reminder',
      requestId,
      noticeKind: kind,
      version,
      runAt: at,
    });
  }

  async scheduleRevocationCheck(requestId: string, at: number): Promise<void> {
    this.add({ id: jobIds.revocationCheck(requestId), kind: 'revocation-check', requestId, runAt: at });
  }

  /** Every job still kept, in the order it was first added. */
  jobs(): RecordedJob[] {
    return [...this.byId.values()];
  }

  /** Jobs not yet run, optionally of one kind. */
  pending(kind?: JobKind): RecordedJob[] {
    return this.jobs().filter((job) => job.state === 'pending' && (kind === undefined || job.kind === kind));
  }

  find(id: string): RecordedJob | undefined {
    return this.byId.get(id);
  }

  /**
   * Runs every pending job due now that has a handler, earliest first, including jobs those runs schedule for now.
   * A handler that throws marks its job failed (no retry: run it again with {@link retry}). Returns the jobs run.
   */
  async runDue(handlers: JobHandlers): Promise<RecordedJob[]> {
    const ran: RecordedJob[] = [];
    for (;;) {
      const job = this.nextDue(handlers, this.clock.now());
      if (await this.sweepBefore(job, this.clock.now(), handlers)) continue;
      if (!job) return ran;
      ran.push(await this.run(job, handlers, ran.length));
    }
  }

  /**
   * Moves the clock to `at` one due job at a time: each job runs with the clock at its own due time (as a delayed
   * BullMQ job would), then the clock ends at `at`. Returns the jobs run.
   */
  async advanceTo(at: number, handlers: JobHandlers): Promise<RecordedJob[]> {
    const ran: RecordedJob[] = [];
    for (;;) {
      const job = this.nextDue(handlers, at);
      if (await this.sweepBefore(job, at, handlers)) continue;
      if (!job) break;
      if (job.runAt > this.clock.now()) this.clock.set(job.runAt);
      ran.push(await this.run(job, handlers, ran.length));
    }
    if (at > this.clock.now()) this.clock.set(at);
    return ran;
  }

  /** {@link advanceTo} `ms` from now. */
  advance(ms: number, handlers: JobHandlers): Promise<RecordedJob[]> {
    return this.advanceTo(this.clock.now() + ms, handlers);
  }

  /** Forgets a job, as a Redis that lost its data (or a worker that crashed before scheduling it) would. */
  lose(id: string): void {
    if (!this.byId.delete(id)) throw new Error(`job ${id} is not kept, so it cannot be lost`);
  }

  /** Puts a failed job back, due now (as BullMQ's retry). */
  retry(id: string): void {
    const job = this.byId.get(id);
    if (job?.state !== 'failed') throw new Error(`job ${id} is ${job?.state ?? 'missing'}, not failed`);
    job.state = 'pending';
    job.runAt = this.clock.now();
    delete job.error;
  }

  private add(job: Omit<RecordedJob, 'state'>): void {
    if (this.byId.has(job.id)) return;
    this.byId.set(job.id, { ...job, state: 'pending' });
  }

  /**
   * Runs the sweep of the next expiry when it comes no later than `until` and no later than `job` (the watch's timer
   * and BullMQ's delayed job fire together: the sweep goes first), with the clock at that expiry.
   * @returns whether a sweep ran.
   */
  private async sweepBefore(job: RecordedJob | undefined, until: number, handlers: JobHandlers): Promise<boolean> {
    const sweeps = handlers.expirySweeps;
    if (!sweeps) return false;
    const expiry = await sweeps.nextExpiry(this.swept);
    if (expiry === undefined || expiry > until || (job && job.runAt < expiry)) return false;
    if (expiry > this.clock.now()) this.clock.set(expiry);
    const stretch = { after: this.swept, until: this.clock.now() };
    this.swept = stretch.until;
    this.sweeps.push(stretch);
    await sweeps.sweep(stretch);
    return true;
  }

  private isDelayed(job: RecordedJob): boolean {
    return job.state === 'pending' && job.runAt > this.clock.now();
  }

  private nextDue(handlers: JobHandlers, until: number): RecordedJob | undefined {
    let next: RecordedJob | undefined;
    for (const job of this.byId.values()) {
      if (job.state !== 'pending' || job.runAt > until || !handlers[job.kind]) continue;
      if (!next || job.runAt < next.runAt) next = job;
    }
    return next;
  }

  private async run(job: RecordedJob, handlers: JobHandlers, ranBefore: number): Promise<RecordedJob> {
    if (ranBefore >= MAX_RUNS)
      throw new Error(`more than ${MAX_RUNS} jobs run: does ${job.id} keep rescheduling itself?`);
    job.state = 'running';
    try {
      const outcome = await handlers[job.kind]?.(job);
      if (isNotDue(outcome) && outcome.dueAt > this.clock.now()) {
        // As the processors' `sleepUntil`: the job is delayed again, not finished.
        job.state = 'pending';
        job.runAt = outcome.dueAt;
        return job;
      }
      job.state = 'completed';
    } catch (error) {
      job.state = 'failed';
      job.error = error;
    }
    return job;
  }
}
