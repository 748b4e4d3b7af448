import type { CallPacer, CallRate } from '../../../src/domain/ports';
import { type CallPacing, type RetryOptions, retryTransient, type ThrottleDetails } from '../../../src/providers/retry';

/** A pacer that records what it was asked and never waits, so each test counts slots and hold-offs. */
class RecordingPacer implements CallPacer {
  readonly takes: { key: string; rate: CallRate }[] = [];
  readonly holds: { key: string; ms: number }[] = [];
  failing = false;

  async take(key: string, rate: CallRate): Promise<void> {
    if (this.failing) throw new Error('Redis is unreachable');
    this.takes.push({ key, rate });
  }

  async holdOff(key: string, ms: number): Promise<void> {
    if (this.failing) throw new Error('Redis is unreachable');
    this.holds.push({ key, ms });
  }
}

const THROTTLED = Object.assign(new Error('Rate exceeded'), { code: 'Throttling' });
const FAILED = Object.assign(new Error('internal error'), { code: 'ServiceFailure' });
const REFUSED = Object.assign(new Error('not authorized'), { code: 'AccessDenied' });

/** An operation answering each of `answers` in turn (an Error is thrown), then `done` for ever. */
function answering(answers: readonly Error[]): { operation: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    operation: async () => {
      const answer = answers[calls];
      calls += 1;
      if (answer !== undefined) throw answer;
      return 'done';
    },
    calls: () => calls,
  };
}

function options(pacing: Partial<CallPacing> & { pacer: CallPacer }, overrides: Partial<RetryOptions> = {}) {
  return {
    attempts: 2,
    baseMs: 1,
    capMs: 2,
    random: () => 0,
    isTransient: (error: unknown) => error === THROTTLED || error === FAILED,
    pacing: {
      key: 'aws-iam',
      rate: () => ({ perSecond: 5, burst: 5 }),
      isThrottled: (error: unknown) => error === THROTTLED,
      ...pacing,
    },
    ...overrides,
  } satisfies RetryOptions;
}

describe('retryTransient with pacing', () => {
  it('takes a slot before every try, at the rate read at that moment', async () => {
    const pacer = new RecordingPacer();
    let perSecond = 5;
    const { operation } = answering([FAILED]);
    await retryTransient(operation, options({ pacer, rate: () => ({ perSecond: perSecond++, burst: 1 }) }));
    expect(pacer.takes).toEqual([
      { key: 'aws-iam', rate: { perSecond: 5, burst: 1 } },
      { key: 'aws-iam', rate: { perSecond: 6, burst: 1 } },
    ]);
  });

  it('does not spend an attempt on a throttled answer: 10 throttles then success, with 2 attempts, succeeds', async () => {
    const pacer = new RecordingPacer();
    const throttles: ThrottleDetails[] = [];
    const onRetry = jest.fn();
    const { operation, calls } = answering(Array(10).fill(THROTTLED));
    const result = await retryTransient(
      operation,
      options({ pacer, onThrottled: (_error, details) => throttles.push(details) }, { onRetry }),
    );
    expect(result).toBe('done');
    expect(calls()).toBe(11);
    expect(pacer.takes).toHaveLength(11);
    expect(onRetry).not.toHaveBeenCalled();
    // Each throttle holds the key off for every process, longer with each one in a row (1 ms base, doubling).
    expect(pacer.holds.map((hold) => hold.ms)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    expect(pacer.holds.every((hold) => hold.key === 'aws-iam')).toBe(true);
    expect(throttles.map((details) => details.throttles)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("holds off for the cloud's Retry-After when it gives one, and caps the backoff when it does not", async () => {
    const pacer = new RecordingPacer();
    const { operation } = answering([THROTTLED, THROTTLED, THROTTLED]);
    let asked: number | undefined = 1_500;
    await retryTransient(
      operation,
      options(
        { pacer, maxHoldMs: 3 },
        {
          retryAfterMs: () => {
            const ms = asked;
            asked = undefined;
            return ms;
          },
        },
      ),
    );
    expect(pacer.holds.map((hold) => hold.ms)).toEqual([1_500, 2, 3]);
  });

  it('still spends attempts on failures that are not throttling, and a refusal is not retried', async () => {
    const pacer = new RecordingPacer();
    const failing = answering([FAILED, FAILED, FAILED]);
    await expect(retryTransient(failing.operation, options({ pacer }))).rejects.toBe(FAILED);
    expect(failing.calls()).toBe(2);
    expect(pacer.holds).toEqual([]);

    const refused = answering([REFUSED]);
    await expect(retryTransient(refused.operation, options({ pacer }))).rejects.toBe(REFUSED);
    expect(refused.calls()).toBe(1);
  });

  it('counts attempts apart from throttles in between: a failure, throttles, a failure uses both attempts', async () => {
    const pacer = new RecordingPacer();
    const { operation, calls } = answering([FAILED, THROTTLED, THROTTLED, FAILED, FAILED]);
    await expect(retryTransient(operation, options({ pacer }))).rejects.toBe(FAILED);
    expect(calls()).toBe(4);
    // The throttles after the first failure start their backoff afresh.
    expect(pacer.holds.map((hold) => hold.ms)).toEqual([1, 2]);
  });

  it('gives up with the throttled answer once the hold-offs add up past the bound, holding off all the same', async () => {
    const pacer = new RecordingPacer();
    const { operation, calls } = answering(Array(100).fill(THROTTLED));
    await expect(retryTransient(operation, options({ pacer, maxThrottledMs: 100 }))).rejects.toBe(THROTTLED);
    // 1 + 2 + 4 + ... + 32 = 63 ms held; the 7th (64 ms) would make 127 > 100.
    expect(calls()).toBe(7);
    expect(pacer.holds.map((hold) => hold.ms)).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it('gives up at once when the cloud asks for a wait longer than the bound', async () => {
    const pacer = new RecordingPacer();
    const { operation, calls } = answering([THROTTLED]);
    await expect(
      retryTransient(operation, options({ pacer, maxThrottledMs: 60_000 }, { retryAfterMs: () => 120_000 })),
    ).rejects.toBe(THROTTLED);
    expect(calls()).toBe(1);
    expect(pacer.holds).toEqual([{ key: 'aws-iam', ms: 120_000 }]);
  });

  it('lets the call go unpaced when the pacer fails, and says so', async () => {
    const pacer = new RecordingPacer();
    pacer.failing = true;
    const onPacerError = jest.fn();
    const { operation, calls } = answering([THROTTLED]);
    await expect(retryTransient(operation, options({ pacer, onPacerError }))).resolves.toBe('done');
    expect(calls()).toBe(2);
    // The take before each try, and the hold-off after the throttle.
    expect(onPacerError).toHaveBeenCalledTimes(3);
  });

  it('without pacing, a throttled answer is a transient failure like any other, using an attempt', async () => {
    const { operation, calls } = answering([THROTTLED, THROTTLED, THROTTLED]);
    const { pacing: _unused, ...unpaced } = options({ pacer: new RecordingPacer() });
    await expect(retryTransient(operation, unpaced)).rejects.toBe(THROTTLED);
    expect(calls()).toBe(2);
  });
});
