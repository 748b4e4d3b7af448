import type { Clock } from '../domain/ports';

/** The wall clock; the one place that reads it. */
export const systemClock: Clock = { now: () => Date.now() };
