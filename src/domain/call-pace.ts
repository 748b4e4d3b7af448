/** How a `CallRate` becomes the pace every `CallPacer` keeps: the one rule both pacers share. */
import type { CallRate } from './ports';

/**
 * A rate as the generic cell rate algorithm uses it: one call per `intervalMs`, and how far ahead of its turn a call
 * may go (`toleranceMs`, which makes the burst). The burst is the cloud's bucket, and a tenth of it (at least one
 * token) is left unspent: calls leave on their slots but can reach the cloud bunched (a busy event loop, a shared
 * token request, the network), and the spare tokens absorb a delay of up to `spare × intervalMs` where the cloud
 * would otherwise answer 429. It only shortens the first burst; the steady rate is the cloud's. So `burst: 1` and
 * `burst: 2` send one call at a time, `burst: 20` eighteen at once.
 * @throws RangeError for a rate the policy schema would refuse (perSecond not positive, burst below 1).
 */
export function paceTiming(rate: CallRate): { intervalMs: number; toleranceMs: number } {
  if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
    throw new RangeError(`a call rate needs perSecond > 0 and burst >= 1, not ${JSON.stringify(rate)}`);
  }
  const burst = Math.floor(rate.burst);
  const spare = Math.max(1, Math.floor(burst / 10));
  const atOnce = Math.max(1, burst - spare);
  const intervalMs = 1000 / rate.perSecond;
  return { intervalMs, toleranceMs: (atOnce - 1) * intervalMs };
}
