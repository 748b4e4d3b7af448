import { isSelected } from './approvals';
import { type AutoApproveRule, isOpenSelector } from './policy';
import type { PeopleDirectory } from './ports';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The weekday (0 = Sunday) and minute of the day at `at` in the time zone. */
export function localTime(at: number, timeZone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: WEEKDAYS.indexOf(part('weekday')), minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** True when the rule approves this person's request at `at`. */
export async function autoApproves(
  rule: AutoApproveRule,
  userId: string,
  at: number,
  directory: PeopleDirectory,
): Promise<boolean> {
  const { day, minute } = localTime(at, rule.timeZone);
  if (rule.days !== undefined && !rule.days.includes(day)) return false;
  if (rule.hours !== undefined) {
    const { from, to } = rule.hours;
    // A window such as 22:00-06:00 runs over midnight.
    const inside = from <= to ? minute >= from && minute < to : minute >= from || minute < to;
    if (!inside) return false;
  }
  return isOpenSelector(rule.people) || isSelected(rule.people, userId, directory);
}
