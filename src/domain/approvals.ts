import type { AccessRequest } from './access-request';
import { bundleRoles, roleApprovalsMissing } from './bundle';
import { isOpenSelector, type PeopleSelector, type Policy, type Role } from './policy';
import type { PeopleDirectory } from './ports';

/** True when the user is named in the selector directly or through one of its Slack user groups. */
export async function isSelected(
  selector: PeopleSelector,
  userId: string,
  directory: PeopleDirectory,
): Promise<boolean> {
  if (selector.users.includes(userId)) return true;
  for (const usergroupId of selector.usergroups) {
    const members = await directory.usergroupMembers(usergroupId);
    if (members.includes(userId)) return true;
  }
  return false;
}

export async function mayRequest(role: Role, userId: string, directory: PeopleDirectory): Promise<boolean> {
  return isOpenSelector(role.requesters) || isSelected(role.requesters, userId, directory);
}

export async function isApprover(role: Role, userId: string, directory: PeopleDirectory): Promise<boolean> {
  return isSelected(role.approvers, userId, directory);
}

/** True for the people a role escalates to (`escalateTo`), whether or not a request has escalated yet. */
export async function isEscalationApprover(role: Role, userId: string, directory: PeopleDirectory): Promise<boolean> {
  return role.escalation !== undefined && isSelected(role.escalation.to, userId, directory);
}

/** When a pending request of the role escalates; undefined when the role does not escalate. */
export function escalationDueAt(request: AccessRequest, role: Role): number | undefined {
  return role.escalation === undefined ? undefined : request.createdAt + role.escalation.afterMs;
}

/**
 * The duration granted once a request is approved: the shortest any approver chose, else the one asked for.
 * @returns the approval whose choice won too, when one was shorter than asked.
 */
export function approvedDuration(request: AccessRequest): { durationMs: number; chosenBy?: string } {
  let best: { durationMs: number; chosenBy?: string } = { durationMs: request.durationMs };
  for (const approval of request.approvals) {
    if (approval.durationMs !== undefined && approval.durationMs < best.durationMs) {
      best = { durationMs: approval.durationMs, chosenBy: approval.userId };
    }
  }
  return best;
}

/** True for the people who may see a request and end its access: its requester and the role's approvers. */
export async function isRequesterOrApprover(
  request: AccessRequest,
  policy: Policy,
  userId: string,
  directory: PeopleDirectory,
): Promise<boolean> {
  if (request.requesterId === userId) return true;
  // A bundle answers to the approvers of each of its roles.
  for (const role of bundleRoles(policy, request)) {
    if (role !== undefined && (await isApprover(role, userId, directory))) return true;
  }
  return false;
}

/** Distinct approvals still needed for `role` (the request's role, or one role of a bundle). */
export function approvalsMissing(request: AccessRequest, role: Role): number {
  return roleApprovalsMissing(request, role);
}
