/** How one cloud call is tried: its pace, its in-call retries, and the classifying helpers the providers share. */
import { CloudProviderError } from '../domain/errors';
import type { CloudApi } from '../domain/policy';
import type { CallPacer, CallRate } from '../domain/ports';

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
  /** Paces every try and takes throttled answers out of the attempts; see {@link CallPacing}. */
  pacing?: CallPacing;
}

/**
 * Pacing of one call: before each try it takes a slot on `key`, so every process together stays under the cloud's
 * rate. A throttled answer is the cloud saying the pace is too fast, not that this call failed: it holds the key
 * off for every process (for the cloud's `Retry-After`, else a backoff that grows with each throttle in a row), is
 * tried again without using an attempt, and gives up only once the holds add up to `maxThrottledMs`.
 */
export interface CallPacing {
  pacer: CallPacer;
  /** The pacer key: the cloud API, and where the cloud keeps separate budgets, the part of it this call spends. */
  key: string;
  /** Read before every try, so a policy reload applies to the next one. */
  rate: () => CallRate;
  /** True when the cloud refused the call for its rate (HTTP 429, `Throttling`, `RESOURCE_EXHAUSTED`...). */
  isThrottled(error: unknown): boolean;
  /** Most a call holds off on throttled answers before it gives up with the last one; default 5 minutes. */
  maxThrottledMs?: number;
  /** Longest backoff after throttles in a row when the cloud gives no `Retry-After`; default 30 s. */
  maxHoldMs?: number;
  /** Told of each throttled answer, before the call is tried again (for a debug or info line, not a warning). */
  onThrottled?(error: unknown, details: ThrottleDetails): void;
  /** Told when the pacer itself failed (Redis unreachable): the call then goes unpaced rather than not at all. */
  onPacerError?(error: unknown): void;
}

export interface ThrottleDetails {
  /** Throttled answers in a row, this one included. */
  throttles: number;
  /** How long every process now holds off the key. */
  holdMs: number;
  /** What the cloud asked for (`Retry-After`), if it said. */
  retryAfterMs?: number;
  /** The holds this call has sat out so far, this one included. */
  throttledMs: number;
}

/** How a provider paces its calls: the pacer (shared by every process in the running bot) and the rate in force. */
export interface ProviderPacing {
  pacer: CallPacer;
  /** The rate for one cloud API now; the registry reads the policy in force, so a reload applies at once. */
  rateOf(api: CloudApi): CallRate;
  /** See {@link CallPacing.maxThrottledMs}; tests shorten it. */
  maxThrottledMs?: number;
}

export const DEFAULT_MAX_THROTTLED_MS = 5 * 60_000;
export const DEFAULT_MAX_HOLD_MS = 30_000;

/** How hard one cloud call retries before giving the failure to the job, which retries later on its own. */
export type CallRetrySettings = Pick<RetryOptions, 'attempts' | 'baseMs' | 'capMs'>;

/** A handful of quick tries: enough to ride out a throttling burst, short enough not to hold a worker. */
export const DEFAULT_CALL_RETRY: Readonly<CallRetrySettings> = { attempts: 4, baseMs: 200, capMs: 2_000 };

/**
 * Runs a cloud call, retrying transient failures with exponential backoff and full jitter, so many grants that
 * hit the same throttling do not retry in lockstep. When the cloud said how long to wait (`Retry-After`), that
 * wait (within `capMs`) comes first, then the jittered backoff. What still fails is rethrown as is; the job above
 * retries again later, with its own backoff. With `pacing`, each try waits for its slot first and throttled
 * answers are handled as {@link CallPacing} says, apart from the attempts.
 */
export async function retryTransient<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  const { pacing } = options;
  let throttles = 0;
  let throttledMs = 0;
  for (let attempt = 1; ; ) {
    if (pacing) await takeSlot(pacing);
    try {
      return await operation();
    } catch (error) {
      if (pacing?.isThrottled(error)) {
        throttles += 1;
        const retryAfterMs = options.retryAfterMs?.(error);
        const holdMs =
          retryAfterMs ?? Math.min(pacing.maxHoldMs ?? DEFAULT_MAX_HOLD_MS, options.baseMs * 2 ** (throttles - 1));
        // Held off even when this call gives up: the cloud asked every caller to slow down, not only this one.
        await pacing.pacer
          .holdOff(pacing.key, holdMs)
          .catch((pacerError: unknown) => pacing.onPacerError?.(pacerError));
        throttledMs += holdMs;
        if (throttledMs > (pacing.maxThrottledMs ?? DEFAULT_MAX_THROTTLED_MS)) throw error;
        pacing.onThrottled?.(error, {
          throttles,
          holdMs,
          throttledMs,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        });
        continue;
      }
      throttles = 0;
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
      attempt += 1;
    }
  }
}

/** Waits for the call's slot; a pacer that cannot answer lets the call go rather than stop it. */
async function takeSlot(pacing: CallPacing): Promise<void> {
  try {
    await pacing.pacer.take(pacing.key, pacing.rate());
  } catch (error) {
    pacing.onPacerError?.(error);
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
