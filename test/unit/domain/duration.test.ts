import fc from 'fast-check';
import { formatDuration, looksLikeDuration, parseDuration } from '../../../src/domain/duration';
import { DomainError } from '../../../src/domain/errors';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** Runs `fn` and returns what it threw, failing the test if it did not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('parseDuration', () => {
  it.each([
    ['30s', 30 * S],
    ['15m', 15 * M],
    ['2h', 2 * H],
    ['1d', D],
    ['1h30m', H + 30 * M],
    ['1d2h3m4s', D + 2 * H + 3 * M + 4 * S],
    ['0h30m', 30 * M],
    ['90m', 90 * M],
    ['2H', 2 * H],
    ['1H30M', H + 30 * M],
    ['1D2H3M4S', D + 2 * H + 3 * M + 4 * S],
    ['  45m  ', 45 * M],
    ['\t2h\n', 2 * H],
    ['366d', 366 * D],
  ])('parses %j as %i ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each([
    '',
    '   ',
    '0m',
    '0s',
    '0d0h0m0s',
    '-5m',
    '+5m',
    '2x',
    'h',
    '5',
    'm5',
    '1m1h',
    '1s1m',
    '1h1h',
    '1.5h',
    '1,5h',
    '1h 30m',
    '10000d',
    '367d',
    '99999999999999999999d',
    'two hours',
  ])('rejects %j with invalid_duration', (text) => {
    const error = thrown(() => parseDuration(text));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'invalid_duration', details: { input: text } });
  });

  it('says the syntax is wrong', () => {
    expect(thrown(() => parseDuration('2x'))).toMatchObject({ details: { input: '2x', problem: 'syntax' } });
  });

  it('says a zero duration is zero and an enormous one too long', () => {
    expect(thrown(() => parseDuration('0m'))).toMatchObject({ details: { problem: 'zero' } });
    expect(thrown(() => parseDuration('10000d'))).toMatchObject({ details: { input: '10000d', problem: 'too-long' } });
  });
});

describe('formatDuration', () => {
  it.each([
    [30 * S, '30s'],
    [15 * M, '15m'],
    [2 * H, '2h'],
    [D, '1d'],
    [H + 30 * M, '1h30m'],
    [D + 2 * H + 3 * M + 4 * S, '1d2h3m4s'],
    [D + 4 * S, '1d4s'],
    [90 * M, '1h30m'],
    [0, '0s'],
    [999, '0s'],
    [-5 * M, '0s'],
    [M + 999, '1m'],
  ])('formats %i ms as %j', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });

  it('round-trips through parseDuration for every whole second up to 365 days', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 365 * 24 * 3600 }), (seconds) => {
        const ms = seconds * 1000;
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes units in descending order, each at most once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 365 * 24 * 3600 }), (seconds) => {
        expect(formatDuration(seconds * 1000)).toMatch(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/);
      }),
    );
  });
});

describe('looksLikeDuration', () => {
  it.each([
    ['2h', true],
    ['30', true],
    ['2x', true],
    ['1.5h', true],
    [' 15m', true],
    ['h', false],
    ['debugging', false],
    ['-5m', false],
    ['', false],
    ['INC-42', false],
  ])('%j → %s', (text, expected) => {
    expect(looksLikeDuration(text)).toBe(expected);
  });
});
