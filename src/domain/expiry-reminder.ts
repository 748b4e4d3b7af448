/** When a grant's holder is reminded of its expiry: one rule for the revoke job that sends it and the notice. */
import type { AccessRequest } from './access-request';

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
 * (the job sends it, then sleeps until the expiry), else at the expiry. No separate reminder job is kept.
 */
export function revokeJobWakeAt(request: AccessRequest, now: number, reminderBeforeMs: number): number | undefined {
  if (request.expiresAt === undefined) return undefined;
  const reminderAt = expiryReminderAt(request, reminderBeforeMs);
  return reminderAt !== undefined && reminderAt > now ? reminderAt : request.expiresAt;
}
