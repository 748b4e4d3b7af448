/** Escalation: a request nobody decided within its role's `escalateAfter` is put before the `escalateTo` people too. */
import { SYSTEM_ACTORS } from './access-request';
import { escalationDueAt } from './approvals';
import { formatDuration } from './duration';
import { isDomainError } from './errors';
import type { GrantLifecycleDeps, LifecycleOutcome } from './grant-step';
import { findRole, type PeopleSelector } from './policy';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/**
 * Escalates the request if it is still undecided now: records the escalation (audited as a pending→pending
 * change by the system), from when the escalation approvers may decide, and schedules the notice that mentions
 * them in the thread and DMs them. A request decided, escalated, timed out or whose role no longer escalates is
 * left alone, so the job needs no cancelling when a decision comes first.
 */
export async function escalatePending(deps: GrantLifecycleDeps, requestId: string): Promise<LifecycleOutcome> {
  let dueAt: number | undefined;
  const at = deps.clock.now();
  const change = await commitChange(deps.store, requestId, (current) => {
    if (current.state !== 'pending' || current.escalatedAt !== undefined || at >= current.approvalDeadline) {
      return undefined;
    }
    const role = findRole(deps.policy.current(), current.roleId);
    const due = role && escalationDueAt(current, role);
    if (role?.escalation === undefined || due === undefined) return undefined;
    if (at < due) {
      dueAt = due;
      return undefined;
    }
    return transition(current, {
      to: 'pending',
      actor: SYSTEM_ACTORS.escalation,
      reason: `escalated to ${describePeople(role.escalation.to)}: no decision within ${formatDuration(role.escalation.afterMs)}`,
      at,
      patch: { escalatedAt: at },
    });
  }).catch((error: unknown) => {
    if (isDomainError(error) && error.code === 'unknown_request') return undefined;
    throw error;
  });
  if (dueAt !== undefined) return { kind: 'not-due', dueAt };
  if (!change) return { kind: 'skipped', why: 'decided, already escalated, or no longer escalating' };
  await deps.scheduler.scheduleNotice(requestId, 'escalated', change.after.version);
  return { kind: 'done', request: change.after };
}

/** `users U1, U2; user groups S1` for the audit trail. */
function describePeople(selector: PeopleSelector): string {
  const parts = [
    ...(selector.users.length > 0 ? [`users ${selector.users.join(', ')}`] : []),
    ...(selector.usergroups.length > 0 ? [`user groups ${selector.usergroups.join(', ')}`] : []),
  ];
  return parts.join('; ') || 'nobody';
}
