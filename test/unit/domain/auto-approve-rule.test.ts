import { autoApproves, localTime } from '../../../src/domain/auto-approve-rule';
import type { AutoApproveRule } from '../../../src/domain/policy';
import type { PeopleDirectory } from '../../../src/domain/ports';

const directory: PeopleDirectory = {
  usergroupMembers: async (id) => (id === 'S0ONCALL' ? ['U0ONCALL'] : []),
  userEmail: async () => undefined,
  userStanding: async () => ({ deactivated: false, guest: false }),
};

/** Tuesday 2026-03-10 08:30 UTC (09:30 in Paris). */
const TUESDAY_0830_UTC = Date.UTC(2026, 2, 10, 8, 30);

const rule = (overrides: Partial<AutoApproveRule> = {}): AutoApproveRule => ({
  people: { users: [], usergroups: [] },
  timeZone: 'UTC',
  ...overrides,
});

describe('auto-approve rules', () => {
  it('reads the weekday and minute in the rule time zone', () => {
    expect(localTime(TUESDAY_0830_UTC, 'UTC')).toEqual({ day: 2, minute: 8 * 60 + 30 });
    expect(localTime(TUESDAY_0830_UTC, 'Europe/Paris')).toEqual({ day: 2, minute: 9 * 60 + 30 });
    expect(localTime(TUESDAY_0830_UTC, 'Pacific/Kiritimati').day).toBe(2);
    expect(localTime(Date.UTC(2026, 2, 10, 23, 0), 'Asia/Tokyo').day).toBe(3);
  });

  it('approves inside the hours and days, not outside', async () => {
    const office = rule({ hours: { from: 9 * 60, to: 17 * 60 }, days: [1, 2, 3, 4, 5], timeZone: 'Europe/Paris' });
    expect(await autoApproves(office, 'U0ANY', TUESDAY_0830_UTC, directory)).toBe(true);
    expect(await autoApproves(office, 'U0ANY', Date.UTC(2026, 2, 10, 7, 59), directory)).toBe(false);
    expect(await autoApproves(office, 'U0ANY', Date.UTC(2026, 2, 14, 10, 0), directory)).toBe(false);
  });

  it('handles a window over midnight', async () => {
    const night = rule({ hours: { from: 22 * 60, to: 6 * 60 } });
    expect(await autoApproves(night, 'U0ANY', Date.UTC(2026, 2, 10, 23, 0), directory)).toBe(true);
    expect(await autoApproves(night, 'U0ANY', Date.UTC(2026, 2, 10, 5, 59), directory)).toBe(true);
    expect(await autoApproves(night, 'U0ANY', Date.UTC(2026, 2, 10, 6, 0), directory)).toBe(false);
  });

  it('approves only the people it names, directly or by user group', async () => {
    const oncall = rule({ people: { users: ['U0LEAD'], usergroups: ['S0ONCALL'] } });
    expect(await autoApproves(oncall, 'U0LEAD', TUESDAY_0830_UTC, directory)).toBe(true);
    expect(await autoApproves(oncall, 'U0ONCALL', TUESDAY_0830_UTC, directory)).toBe(true);
    expect(await autoApproves(oncall, 'U0OTHER', TUESDAY_0830_UTC, directory)).toBe(false);
  });
});
