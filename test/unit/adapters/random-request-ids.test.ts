import fc from 'fast-check';
import { randomRequestIds } from '../../../src/adapters/random-request-ids';
import { isRequestIdShaped } from '../../../src/domain/request-id';

const ids = Array.from({ length: 1_000 }, () => randomRequestIds.newRequestId());

describe('randomRequestIds', () => {
  it('makes eight-character IDs that isRequestIdShaped accepts', () => {
    for (const id of ids) {
      expect(id).toHaveLength(8);
      expect(isRequestIdShaped(id)).toBe(true);
    }
  });

  it('uses only lowercase letters and digits, without ":" or look-alikes', () => {
    const used = new Set(ids.join(''));
    for (const forbidden of [':', '0', 'o', '1', 'l', 'i', 'O', 'I', 'L', '-', '_']) {
      expect(used.has(forbidden)).toBe(false);
    }
    for (const char of used) expect(char).toMatch(/^[a-z2-9]$/);
  });

  it('draws from the whole alphabet', () => {
    // 8000 draws from 31 symbols: every symbol appears, except with vanishing probability.
    expect(new Set(ids.join('')).size).toBe(31);
  });

  it('makes 1000 distinct IDs (collision odds about 1 in 2 million)', () => {
    expect(new Set(ids).size).toBe(1_000);
  });
});

describe('isRequestIdShaped', () => {
  it.each(['k7m2xq9d', 'abcdefgh', '23456789', 'zzzzzzzz'])('accepts %j', (text) => {
    expect(isRequestIdShaped(text)).toBe(true);
  });

  it.each([
    '',
    'k7m2xq9',
    'k7m2xq9dd',
    'K7M2XQ9D',
    'k7m2xq0d',
    'k7m2xq1d',
    'k7m2xqod',
    'k7m2xqld',
    'k7m2xqid',
    'k7m2:q9d',
    ' k7m2xq9d',
    'k7m2xq9d\n',
    '`k7m2xq9d`',
  ])('refuses %j', (text) => {
    expect(isRequestIdShaped(text)).toBe(false);
  });

  it('refuses anything containing a character outside the alphabet', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 8 }), (text) => {
        expect(isRequestIdShaped(text)).toBe(/^[a-hjkmnp-z2-9]{8}$/.test(text));
      }),
    );
  });
});
