import fc from 'fast-check';
import { type CappedBackoff, cappedJitterBackoff, JOB_OPTIONS, REVOKE_BACKOFF } from '../../../src/jobs/retry-policy';

const BACKOFF: CappedBackoff = { baseMs: 1_000, capMs: 60_000 };
const lowest = () => 0;
const highest = () => 0.999_999_999;
const middle = () => 0.5;

describe('cappedJitterBackoff', () => {
  it.each([
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [4, 4_000, 8_000],
    [6, 16_000, 32_000],
    [7, 30_000, 60_000],
    [50, 30_000, 60_000],
  ])('after %i attempt(s) waits between %i and %i ms', (attempts, low, high) => {
    expect(cappedJitterBackoff(attempts, BACKOFF, lowest)).toBe(low);
    expect(cappedJitterBackoff(attempts, BACKOFF, highest)).toBe(high);
  });

  it('places the delay by the injected random number', () => {
    expect(cappedJitterBackoff(3, BACKOFF, middle)).toBe(3_000);
    expect(cappedJitterBackoff(3, BACKOFF, () => 0.25)).toBe(2_500);
  });

  it('treats zero or negative attempts like the first', () => {
    expect(cappedJitterBackoff(0, BACKOFF, highest)).toBe(1_000);
    expect(cappedJitterBackoff(-3, BACKOFF, lowest)).toBe(500);
  });

  it('does not overflow for huge attempt counts', () => {
    expect(cappedJitterBackoff(Number.MAX_SAFE_INTEGER, REVOKE_BACKOFF, highest)).toBe(REVOKE_BACKOFF.capMs);
  });

  it('stays within [ceiling/2, ceiling] and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, baseMs, extraCap, r) => {
          const backoff = { baseMs, capMs: baseMs + extraCap };
          const ceiling = Math.min(backoff.capMs, baseMs * 2 ** Math.min(attempts - 1, 30));
          const delay = cappedJitterBackoff(attempts, backoff, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeLessThanOrEqual(backoff.capMs);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('grows with the attempt count for the same random draw until it reaches the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, r) => {
          const now = cappedJitterBackoff(attempts, REVOKE_BACKOFF, () => r);
          const next = cappedJitterBackoff(attempts + 1, REVOKE_BACKOFF, () => r);
          expect(next).toBeGreaterThanOrEqual(now);
        },
      ),
    );
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => cappedJitterBackoff(n, REVOKE_BACKOFF, highest));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
  });
});

describe('JOB_OPTIONS', () => {
  it("leaves a revocation's retries to the job itself, with options short enough for a compact hash in Redis", () => {
    expect(JOB_OPTIONS.revoke).not.toHaveProperty('backoff');
    expect(JOB_OPTIONS.revoke.attempts).toBeGreaterThanOrEqual(1_000_000);
    // What BullMQ stores as the job's `opts` (Redis's default hash-max-listpack-value is 64 bytes).
    const stored = JSON.stringify({ jobId: 'revoke-k7m2xq9d', delay: 99_999_999, ...JOB_OPTIONS.revoke });
    expect(stored.length).toBeLessThanOrEqual(64);
  });

  it('gives up on grants after a few attempts', () => {
    expect(JOB_OPTIONS.grant.attempts).toBe(6);
  });
});
