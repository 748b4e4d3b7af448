/** Holds back a process's notices and read-backs while many revocations run in it, so that access ends first. */
import type { Clock } from '../domain/ports';
import type { Logger } from '../lib/logger';

/** A worker that can stop taking jobs for a while (BullMQ's `Worker`). */
export interface Pausable {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void> | void;
}

export interface RevocationsFirstOptions {
  /** Revocations running at once in this process from which the others wait. */
  holdFrom: number;
  /** Longest hold: under a steady stream of revocations, notices must still go out. */
  maxHoldMs: number;
}

/**
 * A burst of expiries (a shift ends; a batch of grants made together) puts hundreds of revocations in one
 * process at once. Each one's notice and read-back is queued as it ends and would share the CPU with the
 * revocations still waiting; a notice late by a few seconds matters less than access that ends late.
 */
export const REVOCATIONS_FIRST: RevocationsFirstOptions = { holdFrom: 20, maxHoldMs: 30_000 };

/**
 * Counts the revocations running in this process. From {@link RevocationsFirstOptions.holdFrom} of them it pauses
 * the given workers (their running jobs finish; no new one starts), and resumes them when none is left, or after
 * {@link RevocationsFirstOptions.maxHoldMs}, after which it holds again only once the revocations have drained.
 * Jobs held back stay in their queues, so other processes (and this one, later) run them.
 */
export class RevocationsFirst {
  private running = 0;
  private heldAt: number | undefined;
  /** Set when a hold reached its limit: no new hold until the revocations have drained. */
  private exhausted = false;
  private limitTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly heldBack: readonly Pausable[],
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: RevocationsFirstOptions = REVOCATIONS_FIRST,
  ) {}

  /** Runs one revocation, counted while it runs. */
  async run<T>(revocation: () => Promise<T>): Promise<T> {
    this.running += 1;
    if (this.running >= this.options.holdFrom && this.heldAt === undefined && !this.exhausted) this.hold();
    try {
      return await revocation();
    } finally {
      this.running -= 1;
      if (this.running === 0) {
        this.exhausted = false;
        if (this.heldAt !== undefined) this.release('the revocations have drained');
      }
    }
  }

  /** Lets the held workers go (at shutdown, before closing them). */
  stop(): void {
    if (this.heldAt !== undefined) this.release('shutting down');
  }

  private hold(): void {
    this.heldAt = this.clock.now();
    this.logger.info({ revocations: this.running }, 'many revocations at once: notices and read-backs wait for them');
    for (const worker of this.heldBack) {
      worker.pause(true).catch((error: unknown) => this.logger.warn({ err: error }, 'could not pause a worker'));
    }
    this.limitTimer = setTimeout(() => {
      this.exhausted = true;
      this.release(`held for the longest allowed (${this.options.maxHoldMs} ms)`);
    }, this.options.maxHoldMs);
    this.limitTimer.unref();
  }

  private release(why: string): void {
    const heldMs = this.heldAt === undefined ? 0 : this.clock.now() - this.heldAt;
    this.heldAt = undefined;
    clearTimeout(this.limitTimer);
    this.logger.info({ heldMs, why }, 'notices and read-backs resume');
    for (const worker of this.heldBack) {
      Promise.resolve(worker.resume()).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'could not resume a worker'),
      );
    }
  }
}
