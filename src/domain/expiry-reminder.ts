/** When a grant's own revoke job wakes: at its expiry reminder, then as the backstop after the expiry sweep. */
import type { AccessRequest } from './access-request';

/**
 * How long after its expiry a grant's own revoke job wakes. The expiry sweep ends grants at their expiry, all due
 * at once together; the job ends the grant only if no sweep did by then (a sweep lost in a crash between claiming
 * and queueing, or one that took this long). A sweep's job is retried by BullMQ after a crash, so this is the last
 * line, not the usual path; the reconciler treats a grant this overdue as missed.
 */
export const REVOKE_JOB_BACKSTOP_MS = 5 * 60_000;

/** A reminder that arrives this much later than planned (a busy queue, a restart) is still worth sending. */
export const REMINDER_SLACK_MS = 60_000;

/**
 * When the holder is reminded: `reminderBefore` ahead of the expiry, unless the grant is shorter than that.
 * @returns undefined when no reminder applies.
 */
export function expiryReminderAt(request: AccessRequest, reminderBeforeMs: number): number | undefined {
  if (request.expiresAt === undefined) return undefined;
  const at = request.expiresAt - reminderBeforeMs;
  return at > (request.activatedAt ?? 0) ? at : undefined;
}

/**
 * The reminder still applies at `now`: the grant active, nobody asked to end it, and its expiry near (an
 * extension that moved it further brings a reminder of its own).
 */
export function expiryReminderStillDue(request: AccessRequest, now: number, reminderBeforeMs: number): boolean {
  return (
    request.state === 'active' &&
    request.revocationRequestedBy === undefined &&
    request.expiresAt !== undefined &&
    request.expiresAt > now &&
    request.expiresAt - now <= reminderBeforeMs + REMINDER_SLACK_MS
  );
}

/** A revoke job woken at `now` sends the reminder: one applies to this grant and it is due. */
export function expiryReminderDueNow(request: AccessRequest, now: number, reminderBeforeMs: number): boolean {
  return (
    expiryReminderAt(request, reminderBeforeMs) !== undefined && expiryReminderStillDue(request, now, reminderBeforeMs)
  );
}

/**
 * When the request's one revoke job should wake, scheduled at `now`: at the expiry reminder while it is ahead
 * (the job sends it, then sleeps on), else `REVOKE_JOB_BACKSTOP_MS` after the expiry, when the expiry sweep should
 * long have ended the grant. No separate reminder job is kept.
 */
export function revokeJobWakeAt(request: AccessRequest, now: number, reminderBeforeMs: number): number | undefined {
  if (request.expiresAt === undefined) return undefined;
  const reminderAt = expiryReminderAt(request, reminderBeforeMs);
  return reminderAt !== undefined && reminderAt > now ? reminderAt : revokeJobBackstopAt(request.expiresAt);
}

/** When a grant expiring at `expiresAt` is ended by its own revoke job, should no expiry sweep have ended it. */
export function revokeJobBackstopAt(expiresAt: number): number {
  return expiresAt + REVOKE_JOB_BACKSTOP_MS;
}
