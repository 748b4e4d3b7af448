import type { Clock } from '../../../src/domain/ports';

/** A `Clock` that stands still until the test moves it. */
export class ManualClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` (never backwards, as the wall clock the bot relies on would not). */
  advance(ms: number): number {
    if (ms < 0) throw new Error(`ManualClock.advance(${ms}): time only moves forward`);
    this.current += ms;
    return this.current;
  }

  /** Moves time to `at`, which must not be earlier than now. */
  set(at: number): void {
    if (at < this.current) throw new Error(`ManualClock.set: ${at} is before now (${this.current})`);
    this.current = at;
  }
}
