/** How every ARM and Graph call runs: its pace, in-call retries (honouring Retry-After), logs, failures classified. */
import type { Logger } from '../../lib/logger';
import { type CallPacing, type CallRetrySettings, type ProviderPacing, retryTransient } from '../retry';
import {
  type CallContext,
  classify,
  codeOf,
  isThrottled,
  isTransient,
  PROVIDER,
  retryAfterOf,
  statusOf,
} from './azure-errors';

/**
 * Runs one cloud call with in-call retries of throttling and 5xx, then classifies what still fails.
 * `accept` turns an expected failure (e.g. 404 on delete) into a result instead; undefined means "not expected".
 */
export type AzureCall = <T, R = never>(
  context: CallContext,
  operation: () => Promise<T>,
  accept?: (error: unknown) => R | undefined,
) => Promise<T | R>;

/** What ARM counts a call under: it keeps a separate token bucket for each (see {@link armPaceKey}). */
export type ArmOperation = 'reads' | 'writes' | 'deletes';

export function azureCall(logger: Logger, retry: CallRetrySettings, pacing: ProviderPacing): AzureCall {
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
          ...paced(context, pacing, logger),
          // A failure other than throttling that said how long to wait (a 503 with Retry-After): that wait (within
          // our cap) comes before the jittered backoff. Throttling holds the whole pace off instead (see `paced`).
          onRetryAfter: (_error, retryAfterMs, waitMs) =>
            logger.info(
              { provider: PROVIDER, requestId: context.requestId, retryAfterMs, waitMs },
              'azure: waiting as Retry-After asks before trying again',
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

/**
 * The pacing of an ARM call: on the key of its subscription and operation type, at `settings.cloudRates.azure-arm`.
 * Graph calls (the principal lookup) are not ARM's and go unpaced: Graph throttles per app and tenant on its own
 * terms, and a lookup happens at most once per grant; a 429 from it is retried like any transient failure.
 */
function paced(context: CallContext, pacing: ProviderPacing, logger: Logger): { pacing?: CallPacing } {
  const operation = armOperationOf(context.permission);
  if (operation === undefined) return {};
  const key = armPaceKey(context.scope, operation);
  return {
    pacing: {
      pacer: pacing.pacer,
      key,
      rate: () => pacing.rateOf('azure-arm'),
      isThrottled,
      ...(pacing.maxThrottledMs !== undefined && { maxThrottledMs: pacing.maxThrottledMs }),
      onThrottled: (error, details) =>
        logger.info(
          { provider: PROVIDER, requestId: context.requestId, key, code: codeOf(error), ...details },
          `azure: ARM throttled the call to ${context.doing}; every bot process slows down and it is tried again`,
        ),
      onPacerError: (error) =>
        logger.warn(
          { provider: PROVIDER, requestId: context.requestId, key, err: error },
          `azure: the shared pace of ARM calls could not be read; the call to ${context.doing} goes unpaced`,
        ),
    },
  };
}

/**
 * What ARM counts the call under, told by the ARM action it needs: `.../read` a read, `.../delete` a delete, any
 * other action (a PUT, including PIM's schedule requests that remove an assignment) a write. Undefined for a
 * permission that is no ARM action (Microsoft Graph's).
 */
export function armOperationOf(permission: string): ArmOperation | undefined {
  if (!permission.startsWith('Microsoft.')) return undefined;
  if (permission.endsWith('/read')) return 'reads';
  if (permission.endsWith('/delete')) return 'deletes';
  return 'writes';
}

const SUBSCRIPTION = /^(?:\/providers\/Microsoft\.Subscription)?\/subscriptions\/([^/]+)/i;

/**
 * ARM's buckets are per subscription (or the tenant, for scopes above any subscription), per principal (the bot's
 * one identity) and per operation type ("Understand how Azure Resource Manager throttles requests"), so the pace
 * is kept per subscription and operation type: reads never wait behind a burst of deletes, nor one subscription's
 * calls behind another's.
 */
export function armPaceKey(scope: string | undefined, operation: ArmOperation): string {
  const subscription = scope === undefined ? undefined : SUBSCRIPTION.exec(scope)?.[1]?.toLowerCase();
  return `azure-arm:${subscription ?? 'tenant'}:${operation}`;
}

/** Every item of an SDK listing, all its pages read. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
