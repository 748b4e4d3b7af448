import { CloudProviderError } from '../domain/errors';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** True for failures worth another try soon (throttling, 5xx, a lost etag race). */
  isTransient(error: unknown): boolean;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /**
   * How long the cloud asked to be left alone after this failure (its `Retry-After`, in ms), or undefined when it
   * did not say; see {@link parseRetryAfter}. Providers whose errors carry no such hint leave it out.
   */
  retryAfterMs?(error: unknown): number | undefined;
  /** Told before the wait the cloud asked for; `waitMs` is that wait within `capMs`. */
  onRetryAfter?(error: unknown, retryAfterMs: number, waitMs: number): void;
  /** Injected in tests; `Math.random` otherwise. */
  random?: () => number;
}

/** How hard one cloud call retries before giving the failure to the job, which retries later on its own. */
export type CallRetrySettings = Pick<RetryOptions, 'attempts' | 'baseMs' | 'capMs'>;

/** A handful of quick tries: enough to ride out a throttling burst, short enough not to hold a worker. */
export const DEFAULT_CALL_RETRY: Readonly<CallRetrySettings> = { attempts: 4, baseMs: 200, capMs: 2_000 };

/**
 * Runs a cloud call, retrying transient failures with exponential backoff and full jitter, so many grants that
 * hit the same throttling do not retry in lockstep. When the cloud said how long to wait (`Retry-After`), that
 * wait (within `capMs`) comes first, then the jittered backoff. What still fails is rethrown as is; the job above
 * retries again later, with its own backoff.
 */
export async function retryTransient<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= options.attempts || !options.isTransient(error)) throw error;
      const askedMs = options.retryAfterMs?.(error);
      if (askedMs !== undefined) {
        const waitMs = Math.min(askedMs, options.capMs);
        options.onRetryAfter?.(error, askedMs, waitMs);
        await sleep(waitMs);
      }
      const ceiling = Math.min(options.capMs, options.baseMs * 2 ** (attempt - 1));
      const delayMs = Math.round(random() * ceiling);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

/**
 * A `Retry-After` header's wait in ms. Only the delta-seconds form is read (what ARM and Graph send); an HTTP-date
 * or anything else counts as no hint, so the plain backoff applies.
 */
export function parseRetryAfter(header: string | null | undefined): number | undefined {
  if (header === undefined || header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** HTTP statuses that say "try again": throttling, timeouts and server-side failures. */
export function isTransientHttpStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}

/** A provider failure the requester and approvers can act on; `retryable` false means no retry can help. */
export function providerError(
  provider: string,
  message: string,
  retryable: boolean,
  cause?: unknown,
): CloudProviderError {
  return new CloudProviderError(provider, message, retryable, cause === undefined ? undefined : { cause });
}
