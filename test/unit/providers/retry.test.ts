import { parseRetryAfter, retryTransient } from '../../../src/providers/retry';

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter('0')).toBe(0);
  });

  it('takes no hint from an absent, negative or HTTP-date value', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
  });
});

describe('retryTransient', () => {
  const throttled = Object.assign(new Error('slow down'), { retryAfterMs: 5_000 });

  it('waits what the cloud asked, within the cap, before the jittered backoff', async () => {
    const events: string[] = [];
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls === 1) throw throttled;
        return 'done';
      },
      {
        attempts: 3,
        baseMs: 1,
        capMs: 5,
        isTransient: () => true,
        random: () => 0,
        retryAfterMs: (error) => (error as { retryAfterMs?: number }).retryAfterMs,
        onRetryAfter: (_error, askedMs, waitMs) => events.push(`retry-after ${askedMs} ${waitMs}`),
        onRetry: (_error, attempt, delayMs) => events.push(`retry ${attempt} ${delayMs}`),
      },
    );
    expect(result).toBe('done');
    expect(events).toEqual(['retry-after 5000 5', 'retry 1 0']);
  });

  it('does not wait on a Retry-After when no retry follows', async () => {
    const onRetryAfter = jest.fn();
    await expect(
      retryTransient(
        async () => {
          throw throttled;
        },
        { attempts: 1, baseMs: 1, capMs: 5, isTransient: () => true, retryAfterMs: () => 5_000, onRetryAfter },
      ),
    ).rejects.toBe(throttled);
    expect(onRetryAfter).not.toHaveBeenCalled();
  });
});
