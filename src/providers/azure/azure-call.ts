/** How every ARM and Graph call runs: in-call retries (honouring Retry-After), logs, and classifying what fails. */
import type { Logger } from '../../lib/logger';
import { type CallRetrySettings, retryTransient } from '../retry';
import { type CallContext, classify, codeOf, isTransient, PROVIDER, retryAfterOf, statusOf } from './azure-errors';

/**
 * Runs one cloud call with in-call retries of throttling and 5xx, then classifies what still fails.
 * `accept` turns an expected failure (e.g. 404 on delete) into a result instead; undefined means "not expected".
 */
export type AzureCall = <T, R = never>(
  context: CallContext,
  operation: () => Promise<T>,
  accept?: (error: unknown) => R | undefined,
) => Promise<T | R>;

export function azureCall(logger: Logger, retry: CallRetrySettings): AzureCall {
  return async (context, operation, accept) => {
    let attempt = 0;
    try {
      return await retryTransient(
        async () => {
          attempt += 1;
          const result = await operation();
          logger.debug({ provider: PROVIDER, requestId: context.requestId, attempt }, `azure: ${context.doing}: done`);
          return result;
        },
        {
          ...retry,
          isTransient,
          retryAfterMs: retryAfterOf,
          // Azure said how long to wait: that wait (within our cap) comes before the jittered backoff.
          onRetryAfter: (_error, retryAfterMs, waitMs) =>
            logger.info(
              { provider: PROVIDER, requestId: context.requestId, retryAfterMs, waitMs },
              'azure: throttled; waiting as Retry-After asks',
            ),
          onRetry: (error, failedAttempt, delayMs) =>
            logger.warn(
              {
                provider: PROVIDER,
                requestId: context.requestId,
                status: statusOf(error),
                code: codeOf(error),
                attempt: failedAttempt,
                delayMs,
              },
              `azure: transient failure while trying to ${context.doing}; retrying`,
            ),
        },
      );
    } catch (error) {
      const accepted = accept?.(error);
      if (accepted !== undefined) return accepted;
      const classified = classify(error, context);
      logger.warn(
        {
          provider: PROVIDER,
          requestId: context.requestId,
          status: statusOf(error),
          code: codeOf(error),
          retryable: classified.retryable,
        },
        `azure: failed to ${context.doing}`,
      );
      throw classified;
    }
  };
}

/** Every item of an SDK listing, all its pages read. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
