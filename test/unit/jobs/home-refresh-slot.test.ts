import { HOME_REFRESH_WINDOW_MS, homeRefreshSlot } from '../../../src/jobs/queues';

describe('when an App Home redraw runs', () => {
  const windowStart = 1_800_000_000_000;

  it('once per person per window, after the window has ended and before the next one has', () => {
    const first = homeRefreshSlot('U0ALICE', windowStart + 10);
    const again = homeRefreshSlot('U0ALICE', windowStart + HOME_REFRESH_WINDOW_MS - 1);
    expect(again).toEqual(first);
    expect(first.runAt).toBeGreaterThanOrEqual(windowStart + HOME_REFRESH_WINDOW_MS);
    expect(first.runAt).toBeLessThan(windowStart + 2 * HOME_REFRESH_WINDOW_MS);
    expect(homeRefreshSlot('U0ALICE', windowStart + HOME_REFRESH_WINDOW_MS).window).toBe(first.window + 1);
  });

  it("spreads different people's redraws over the window instead of running them all at its end", () => {
    const offsets = new Set(
      Array.from({ length: 100 }, (_, index) => {
        const { runAt } = homeRefreshSlot(`U${String(index).padStart(8, '0')}`, windowStart);
        return Math.floor((runAt - windowStart - HOME_REFRESH_WINDOW_MS) / (HOME_REFRESH_WINDOW_MS / 10));
      }),
    );
    // A hundred people land in every tenth of the window.
    expect(offsets.size).toBe(10);
  });
});
