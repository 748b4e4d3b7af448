import type { PlainTextOption } from '@slack/types';
import { formatDuration } from '../../domain/duration';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The durations people usually want; the menus show those within a role's bounds. */
const LADDER = [
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
];

/** Slack's limit on a menu's options. */
const MAX_OPTIONS = 100;

/**
 * The durations a menu offers between `minMs` and `maxMs`: the usual ladder, the maximum itself, and the
 * preferred duration (the role's default, or what was typed), which is preselected when it fits.
 */
export function durationChoices(
  maxMs: number,
  minMs: number,
  preferredMs?: number,
): { options: number[]; initialMs: number | undefined } {
  const fits = (ms: number) => ms >= minMs && ms <= maxMs;
  const options = [...new Set([...LADDER, maxMs, ...(preferredMs !== undefined ? [preferredMs] : [])])]
    .filter(fits)
    .sort((a, b) => a - b)
    .slice(0, MAX_OPTIONS);
  if (preferredMs === undefined || options.length === 0) return { options, initialMs: undefined };
  const initialMs = fits(preferredMs) ? preferredMs : (options.filter((ms) => ms <= preferredMs).at(-1) ?? options[0]);
  return { options, initialMs };
}

/** A menu option for a duration; its value reads back with `parseDuration`. */
export function durationOption(ms: number): PlainTextOption {
  const text = formatDuration(ms);
  return { text: { type: 'plain_text', text }, value: text };
}
