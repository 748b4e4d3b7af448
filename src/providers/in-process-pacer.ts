/** Pacing within this one process: what a provider uses when no shared `CallPacer` is given to it. */
import { DEFAULT_CLOUD_RATES } from '../config/cloud-rates';
import { paceTiming } from '../domain/call-pace';
import type { CallPacer, CallRate, Clock } from '../domain/ports';
import { systemClock } from '../lib/clock';
import type { ProviderPacing } from './retry';

/** One key's pace: its theoretical arrival time and the end of its hold-off, in ms on the clock. */
interface Pace {
  arrival: number;
  holdUntil: number;
}

/**
 * The same generic cell rate algorithm as the Redis pacer (`store/call-pacer.ts`), on the injected clock and in this
 * process's memory. Only right for a single process (a test, the CLI): the running bot injects the Redis one, which
 * every process shares.
 */
export class InProcessCallPacer implements CallPacer {
  private readonly paces = new Map<string, Pace>();

  constructor(private readonly clock: Clock) {}

  /** Reserves the next slot on `key` and returns when it is (ms on the clock); see `RedisCallPacer.reserve`. */
  reserve(key: string, rate: CallRate): number {
    const { intervalMs, toleranceMs } = paceTiming(rate);
    const now = this.clock.now();
    const pace = this.paces.get(key) ?? { arrival: 0, holdUntil: 0 };
    const arrival = Math.max(pace.arrival, now, pace.holdUntil + toleranceMs);
    this.paces.set(key, { arrival: arrival + intervalMs, holdUntil: pace.holdUntil });
    return Math.max(now, arrival - toleranceMs);
  }

  async take(key: string, rate: CallRate): Promise<void> {
    const waitMs = this.reserve(key, rate) - this.clock.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  async holdOff(key: string, ms: number): Promise<void> {
    const pace = this.paces.get(key) ?? { arrival: 0, holdUntil: 0 };
    this.paces.set(key, { ...pace, holdUntil: Math.max(pace.holdUntil, this.clock.now() + ms) });
  }
}

/**
 * Pacing within this process at the documented default rates, for providers built without the bot's pacer. On the
 * wall clock, whatever clock the provider was given: the waits are real sleeps, which a test's fixed or advanced
 * clock would stretch or cut.
 */
export function inProcessPacing(clock: Clock = systemClock): ProviderPacing {
  return { pacer: new InProcessCallPacer(clock), rateOf: (api) => DEFAULT_CLOUD_RATES[api] };
}
