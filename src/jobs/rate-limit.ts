/** Longest pause honoured for one 429, so a wild Retry-After cannot stop notices for long. */
const MAX_PAUSE_MS = 5 * 60_000;

/**
 * How long Slack asked us to wait, when the error (or one inside an AggregateError) is a rate-limit refusal:
 * Slack's Web API client, told to reject rate-limited calls, throws an error carrying `retryAfter` in seconds.
 * @returns milliseconds to wait, or undefined when the error is not a rate limit.
 */
export function rateLimitDelayMs(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested)) {
    const delays = nested.map(rateLimitDelayMs).filter((ms): ms is number => ms !== undefined);
    return delays.length > 0 ? Math.max(...delays) : undefined;
  }
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter !== 'number' || !Number.isFinite(retryAfter) || retryAfter < 0) return undefined;
  return Math.min(MAX_PAUSE_MS, Math.max(1_000, retryAfter * 1_000));
}
