import { DomainError } from './errors';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

/** `30s`, `15m`, `2h`, `1d`, `1h30m`: units in descending order, each at most once. */
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Upper bound for any parsed duration; far above any sane policy, it keeps arithmetic away from overflow. */
const MAX_PARSABLE_MS = 366 * UNIT_MS.d;

/**
 * Parses a human duration into milliseconds.
 * @throws DomainError `invalid_duration` when the text is not a positive duration in the accepted syntax.
 */
export function parseDuration(text: string): number {
  const normalised = text.trim().toLowerCase();
  const match = DURATION_PATTERN.exec(normalised);
  if (normalised === '' || !match) {
    throw new DomainError('invalid_duration', { input: text, problem: 'syntax' });
  }
  let total = 0;
  UNIT_ORDER.forEach((unit, index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * UNIT_MS[unit];
  });
  if (total <= 0) {
    throw new DomainError('invalid_duration', { input: text, problem: 'zero' });
  }
  if (!Number.isSafeInteger(total) || total > MAX_PARSABLE_MS) {
    throw new DomainError('invalid_duration', { input: text, problem: 'too-long' });
  }
  return total;
}

/** True when the text is meant as a duration (starts with a digit), even if it turns out malformed. */
export function looksLikeDuration(text: string): boolean {
  return /^\d/.test(text.trim());
}

/** Formats milliseconds the way people type them: `1h30m`, `45s`. Sub-second remainders are dropped. */
export function formatDuration(ms: number): string {
  let remaining = Math.max(0, Math.floor(ms / 1000)) * 1000;
  if (remaining === 0) return '0s';
  let text = '';
  for (const unit of UNIT_ORDER) {
    const amount = Math.floor(remaining / UNIT_MS[unit]);
    if (amount > 0) {
      text += `${amount}${unit}`;
      remaining -= amount * UNIT_MS[unit];
    }
  }
  return text;
}
