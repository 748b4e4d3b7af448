/** When a pending request's approvers are reminded: its one approval-timeout job wakes for it before the deadline. */
import type { AccessRequest } from './access-request';

/**
 * `reminderBefore` ahead of the approval deadline, or halfway to it when the wait is shorter than twice that. The
 * request's approval-timeout job wakes then, queues the reminder, and sleeps on to the deadline: no separate
 * reminder job is kept, and a decision, which cancels the timeout, leaves nothing behind.
 */
export function approvalReminderAt(request: AccessRequest, reminderBeforeMs: number): number {
  return request.approvalDeadline - Math.min(reminderBeforeMs, (request.approvalDeadline - request.createdAt) / 2);
}
