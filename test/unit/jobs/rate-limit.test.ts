import { ErrorCode, type WebAPIRateLimitedError } from '@slack/web-api';
import { rateLimitDelayMs } from '../../../src/jobs/rate-limit';

const rateLimited = (seconds: number): WebAPIRateLimitedError =>
  Object.assign(new Error('A rate limit was exceeded'), {
    code: ErrorCode.RateLimitedError,
    retryAfter: seconds,
  }) as WebAPIRateLimitedError;

describe('rateLimitDelayMs', () => {
  it('reads Slack’s Retry-After from a rate-limit error, in milliseconds', () => {
    expect(rateLimitDelayMs(rateLimited(3))).toBe(3_000);
  });

  it('finds the longest wait among the failed parts of a notice', () => {
    const failures = new AggregateError(
      [new Error('channel_not_found'), rateLimited(2), rateLimited(7)],
      'parts failed',
    );
    expect(rateLimitDelayMs(failures)).toBe(7_000);
    expect(rateLimitDelayMs(new AggregateError([new Error('a'), failures]))).toBe(7_000);
    expect(rateLimitDelayMs({ errors: [rateLimited(1)] })).toBe(1_000);
  });

  it('waits at least a second and at most five minutes', () => {
    expect(rateLimitDelayMs(rateLimited(0))).toBe(1_000);
    expect(rateLimitDelayMs(rateLimited(86_400))).toBe(300_000);
  });

  it('is undefined for any other failure', () => {
    expect(rateLimitDelayMs(new Error('fatal_error'))).toBeUndefined();
    expect(rateLimitDelayMs(new AggregateError([new Error('a'), new Error('b')]))).toBeUndefined();
    expect(rateLimitDelayMs(Object.assign(new Error('odd'), { retryAfter: 'soon' }))).toBeUndefined();
    expect(rateLimitDelayMs(undefined)).toBeUndefined();
  });
});
