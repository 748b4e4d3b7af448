/**
 * Azure Resource Manager's request throttling, as the fake ARM applies it: token buckets per subscription (or
 * tenant), per principal and per operation type, a 429 with `Retry-After` once a bucket is empty, and the
 * `x-ms-ratelimit-remaining-*` headers on what is let through.
 *
 * Source, unless a line says otherwise: Microsoft Learn, "Understand how Azure Resource Manager throttles requests"
 * (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling), section "Regional
 * throttling and token bucket algorithm": subscription and tenant buckets of 250 reads refilled 25 a second, 200
 * deletes refilled 10 a second and 200 writes refilled 10 a second; "subscription limits apply per subscription,
 * per service principal, and per operation type"; a throttled request gets HTTP 429 with a `Retry-After` giving the
 * seconds to wait.
 */

export type ArmOperation = 'reads' | 'writes' | 'deletes';

/** A token bucket: `burst` tokens at most, refilled `perSecond` a second, one token per request. */
export interface BucketRate {
  perSecond: number;
  burst: number;
}

/** The documented buckets (the page cited above); the same sizes for subscription and tenant scopes. */
export const ARM_BUCKETS: Readonly<Record<ArmOperation, BucketRate>> = {
  reads: { perSecond: 25, burst: 250 },
  writes: { perSecond: 10, burst: 200 },
  deletes: { perSecond: 10, burst: 200 },
};

/** What ARM decided about one request. */
export type ThrottleDecision =
  | { admitted: true; headers: Record<string, string> }
  | { admitted: false; retryAfterSeconds: number; code: string; message: string };

interface Bucket {
  tokens: number;
  atMs: number;
}

const SUBSCRIPTION = /^\/subscriptions\/([^/]+)/i;

export class ArmThrottling {
  /** 429s answered since the last reset. */
  throttledCount = 0;
  private readonly buckets = new Map<string, Bucket>();
  /** Undefined: writes and deletes are not throttled at all (a test control); see {@link setWriteRate}. */
  private writeRate: BucketRate | undefined = ARM_BUCKETS.writes;
  private writeRateSet = false;

  constructor(private readonly now: () => number) {}

  /**
   * Test control, not a claim about ARM: writes and deletes each get a bucket of this size and refill instead of
   * the documented 200 and 10 a second; `undefined` stops throttling them at all (reads keep their buckets).
   */
  setWriteRate(rate: BucketRate | undefined): void {
    this.writeRate = rate;
    this.writeRateSet = true;
    // A new size starts full, as a bucket nobody has drawn on.
    for (const key of [...this.buckets.keys()]) if (!key.endsWith(':reads')) this.buckets.delete(key);
  }

  reset(): void {
    this.buckets.clear();
    this.writeRate = ARM_BUCKETS.writes;
    this.writeRateSet = false;
    this.throttledCount = 0;
  }

  /** Takes a token for this request from its bucket, or says how long to wait for one. */
  admit(method: string, scope: string, principal: string): ThrottleDecision {
    const operation: ArmOperation =
      method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
    const rate =
      operation === 'reads' ? ARM_BUCKETS.reads : this.writeRateSet ? this.writeRate : ARM_BUCKETS[operation];
    if (rate === undefined) return { admitted: true, headers: {} };
    const subscription = SUBSCRIPTION.exec(scope)?.[1]?.toLowerCase();
    const level = subscription === undefined ? 'tenant' : 'subscription';
    const key = `${subscription ?? 'tenant'}:${principal.toLowerCase()}:${operation}`;
    const bucket = this.refilled(key, rate);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      // The remaining-requests headers: reads and writes are named on the page cited above
      // (x-ms-ratelimit-remaining-subscription-reads / -writes, -tenant-reads / -writes); deletes answer with
      // x-ms-ratelimit-remaining-subscription-deletes in the ARM responses recorded by the Azure SDKs' tests
      // (e.g. azure-sdk-for-js recordings of DELETE calls), the page's table not naming it.
      return {
        admitted: true,
        headers: { [`x-ms-ratelimit-remaining-${level}-${operation}`]: String(Math.floor(bucket.tokens)) },
      };
    }
    this.throttledCount += 1;
    // Whole seconds until the next token, at least 1: Retry-After is delta-seconds (RFC 9110 10.2.3).
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / rate.perSecond));
    // The code is ARM's for an exhausted subscription budget, and the message follows the wording people report
    // (MicrosoftDocs/azure-docs issues #105248 "SubscriptionRequestsThrottled error" and #51431 "Number of read
    // requests for subscription '**' exceeded the limit"); the tenant form's code is assumed by analogy.
    const code = level === 'subscription' ? 'SubscriptionRequestsThrottled' : 'TenantRequestsThrottled';
    const message =
      `Number of '${operation.slice(0, -1)}' requests for ${level} '${subscription ?? 'tenant'}' actor '${principal}' ` +
      `exceeded. Please try again after '${retryAfterSeconds}' seconds after additional tokens are available.`;
    return { admitted: false, retryAfterSeconds, code, message };
  }

  private refilled(key: string, rate: BucketRate): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: rate.burst, atMs: now };
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.atMs) / 1000) * rate.perSecond);
    bucket.atMs = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
