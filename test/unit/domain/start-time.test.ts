import { DomainError } from '../../../src/domain/errors';
import { parseStartTime } from '../../../src/domain/start-time';

describe('parseStartTime', () => {
  it('reads YYYY-MM-DD HH:MM in the person’s time zone', () => {
    expect(parseStartTime('2026-12-01 22:00', 'UTC')).toBe(Date.UTC(2026, 11, 1, 22, 0));
    expect(parseStartTime('2026-12-01 22:00', 'Europe/Paris')).toBe(Date.UTC(2026, 11, 1, 21, 0));
    expect(parseStartTime('2026-12-01 22:00', 'America/Los_Angeles')).toBe(Date.UTC(2026, 11, 2, 6, 0));
    expect(parseStartTime('  2026-07-01T09:30 ', 'Europe/Paris')).toBe(Date.UTC(2026, 6, 1, 7, 30));
    expect(parseStartTime('2026-12-01 22:00:30', 'Asia/Kolkata')).toBe(Date.UTC(2026, 11, 1, 16, 30, 30));
  });

  it('follows daylight saving: the same wall time is an hour apart in winter and summer', () => {
    expect(parseStartTime('2026-01-15 12:00', 'America/New_York')).toBe(Date.UTC(2026, 0, 15, 17));
    expect(parseStartTime('2026-07-15 12:00', 'America/New_York')).toBe(Date.UTC(2026, 6, 15, 16));
    // Just after the spring-forward change (02:00 → 03:00 on 2026-03-08).
    expect(parseStartTime('2026-03-08 03:30', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 7, 30));
  });

  it('takes an ISO offset as given, whatever the person’s zone', () => {
    expect(parseStartTime('2026-12-01T22:00+01:00', 'America/Los_Angeles')).toBe(Date.UTC(2026, 11, 1, 21));
    expect(parseStartTime('2026-12-01T22:00:00Z', 'Europe/Paris')).toBe(Date.UTC(2026, 11, 1, 22));
    expect(parseStartTime('2026-12-01 22:00-0530', 'UTC')).toBe(Date.UTC(2026, 11, 2, 3, 30));
  });

  it.each(['tomorrow', '22:00', '2026-12-01', '01/12/2026 22:00', '2026-12-01 10pm', '2026-12-1 22:00'])(
    'refuses %j as syntax',
    (text) => {
      expect(() => parseStartTime(text, 'UTC')).toThrow(
        new DomainError('invalid_start', { input: text.trim(), problem: 'syntax' }),
      );
    },
  );

  it.each([
    ['2026-02-30 10:00', 'UTC'],
    ['2026-12-01 24:00', 'UTC'],
    ['2026-12-01 22:61', 'UTC'],
    // Skipped by the spring-forward change in New York.
    ['2026-03-08 02:30', 'America/New_York'],
  ])('refuses %j in %s as no such time', (text, zone) => {
    expect(() => parseStartTime(text, zone)).toThrow(
      new DomainError('invalid_start', { input: text, problem: 'no-such-time' }),
    );
  });
});
