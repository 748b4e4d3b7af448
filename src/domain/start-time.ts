/** Reading a scheduled start as people type it: a wall-clock time in their own time zone, or ISO 8601 with an offset. */
import { DomainError } from './errors';

/**
 * `2026-12-01 22:00` (or with `T`, optionally with seconds), then an optional offset: `Z`, `+01:00`, `-0500`.
 * Groups: year, month, day, hour, minute, second, offset.
 */
const START_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * The point in time `text` names: read in `timeZone` (an IANA zone, e.g. the person's Slack time zone) unless it
 * carries its own offset.
 * @throws DomainError `invalid_start`: `syntax` when it is in neither form, `no-such-time` for a date or time that
 * does not exist (2026-02-30, 25:00, or a wall time skipped by a daylight-saving change in that zone).
 */
export function parseStartTime(text: string, timeZone: string): number {
  const input = text.trim();
  const match = START_PATTERN.exec(input);
  if (!match) throw new DomainError('invalid_start', { input, problem: 'syntax' });
  const [, year, month, day, hour, minute, second, offset] = match;
  const wall: WallTime = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
  };
  const asUtc = utcOf(wall);
  if (asUtc === undefined) throw new DomainError('invalid_start', { input, problem: 'no-such-time' });
  if (offset !== undefined) return asUtc - offsetMs(offset);

  // The zone's offset at the guess, then at the result: two passes settle a time near a daylight-saving change.
  let at = asUtc - zoneOffsetMs(asUtc, timeZone);
  at = asUtc - zoneOffsetMs(at, timeZone);
  // A wall time that the zone skips (02:30 on a spring-forward night) reads back as another time: it does not exist.
  if (utcOf(wallTimeIn(at, timeZone)) !== asUtc) {
    throw new DomainError('invalid_start', { input, problem: 'no-such-time' });
  }
  return at;
}

/** The wall time as if it were UTC, in ms; undefined when no such date or time exists. */
function utcOf(wall: WallTime): number | undefined {
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) return undefined;
  const ms = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const back = new Date(ms);
  return back.getUTCFullYear() === wall.year && back.getUTCMonth() === wall.month - 1 && back.getUTCDate() === wall.day
    ? ms
    : undefined;
}

/** `+01:00`, `-0500`, `Z` in ms east of UTC. */
function offsetMs(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** What a clock in `timeZone` shows at `ms`. */
function wallTimeIn(ms: number, timeZone: string): WallTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((each) => each.type === type)?.value ?? 0);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour'),
    minute: part('minute'),
    second: part('second'),
  };
}

/** How far `timeZone` is ahead of UTC at `ms`. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const wall = utcOf(wallTimeIn(ms, timeZone)) ?? ms;
  return wall - Math.floor(ms / 1000) * 1000;
}
