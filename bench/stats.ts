/** Summaries of the bench's samples, their ratios to a floor, and the polling the phases wait with. */

/** Latency summary in milliseconds. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** A figure of the bot divided by the same figure of the floor: 1 is as fast as the cloud allows. */
export interface SummaryRatio {
  /** Null when the floor's figure is 0 ms, where no ratio means anything. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentiles of the samples (milliseconds), rounded to 0.1 ms. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  return { count: sorted.length, p50: roundMs(rank(0.5)), p99: roundMs(rank(0.99)), max: roundMs(sorted.at(-1) ?? 0) };
}

/** `bot / floor`, to two decimals; null when the floor is 0 (or not a number). */
export function ratio(bot: number, floor: number): number | null {
  if (!Number.isFinite(bot) || !Number.isFinite(floor) || floor <= 0) return null;
  return Math.round((bot / floor) * 100) / 100;
}

/** The ratio of each percentile of `bot` to the same percentile of `floor`. */
export function summaryRatio(bot: Summary, floor: Summary): SummaryRatio {
  return { p50: ratio(bot.p50, floor.p50), p99: ratio(bot.p99, floor.p99), max: ratio(bot.max, floor.max) };
}

export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Polls `check` every `everyMs` until it is true; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until the wall clock reads `epochMs`. */
export function sleepUntil(epochMs: number): Promise<void> {
  return sleep(epochMs - Date.now());
}
