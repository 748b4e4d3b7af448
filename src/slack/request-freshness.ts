import type { IncomingMessage } from 'node:http';

/** Slack's own bound for how far a request's timestamp may be from now. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * True when the request claims to come from the future beyond the allowed skew. Bolt refuses stale timestamps
 * but accepts any future one; a request signed for a later time would stay replayable for that long.
 */
export function isFromTheFuture(request: IncomingMessage, nowMs: number): boolean {
  const header = request.headers['x-slack-request-timestamp'];
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds > Math.floor(nowMs / 1000) + MAX_CLOCK_SKEW_SECONDS;
}
