/** Pacing for provider tests: the real pacer at a rate no test reaches, and a short bound on throttled waiting. */
import { systemClock } from '../../src/lib/clock';
import { InProcessCallPacer } from '../../src/providers/in-process-pacer';
import type { ProviderPacing } from '../../src/providers/retry';

/**
 * Only the tests about pacing should wait for slots; the rest talk to local fakes that never throttle unless told.
 * `maxThrottledMs` of 10 with the tests' 1 ms base backoff gives up at the fourth throttle in a row (holds of 1, 2,
 * 4, 8 ms), so "throttled for too long" stays quick to reach.
 */
export function testPacing(maxThrottledMs = 10): ProviderPacing {
  return {
    pacer: new InProcessCallPacer(systemClock),
    rateOf: () => ({ perSecond: 10_000, burst: 10_000 }),
    maxThrottledMs,
  };
}
