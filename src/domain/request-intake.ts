/** Filing requests: checks of role, duration, reason, ticket and the open-request cap; auto-approval, break-glass. */
import { type AccessRequest, SYSTEM_ACTORS } from './access-request';
import { mayRequest } from './approvals';
import { autoApproves } from './auto-approve-rule';
import { MAX_BUNDLE_ROLES } from './bundle';
import { parseDuration } from './duration';
import { DomainError } from './errors';
import {
  approveAtOnceOrAsk,
  approveBreakGlass,
  askApprovers,
  autoApprove,
  checkDuration,
  checkReason,
  checkStart,
  storeNewRequest,
} from './new-request-steps';
import { findRole, type Role } from './policy';
import { checkOrigin, type RequestServiceDeps, requestableRoles } from './request-checks';

export { MAX_REASON_LENGTH } from './new-request-steps';

export interface RequestAccessInput {
  requesterId: string;
  teamId: string;
  enterpriseId?: string;
  roleId: string;
  /**
   * A bundle: several roles in one request (`roleId` is then ignored). Each role's approvers must approve it; the
   * longest duration is the shortest role maximum. One role here is an ordinary request.
   */
  bundle?: readonly string[];
  /** Human duration such as `2h`; the role's default when absent. */
  duration?: string;
  reason: string;
  /** A scheduled start (epoch ms): access is granted then, not at approval. Absent: as soon as approved. */
  startsAt?: number;
}

/** Requests for access: checked against the policy in force, stored, then approved at once or sent to approvers. */
export class RequestIntake {
  constructor(private readonly deps: RequestServiceDeps) {}

  /** Files a request; auto-approving roles go straight to granting. Nothing is stored if any check fails. */
  async requestAccess(input: RequestAccessInput): Promise<{ request: AccessRequest; role: Role }> {
    checkOrigin(
      this.deps,
      { teamId: input.teamId, ...(input.enterpriseId !== undefined && { enterpriseId: input.enterpriseId }) },
      'request access',
    );
    const roleIds = [...new Set((input.bundle ?? [input.roleId]).map((id) => id.trim().toLowerCase()))];
    if (roleIds.length > 1) return this.requestBundle(input, roleIds);
    const roleId = roleIds[0] ?? '';
    const role = await this.requestableRole(input.requesterId, roleId);

    const durationMs = checkDuration(
      this.deps,
      input.duration === undefined ? role.defaultDurationMs : parseDuration(input.duration),
      role.maxDurationMs,
      role,
      input.duration,
    );
    const reason = checkReason(input.reason, role, { durationMs });
    const startsAt = input.startsAt === undefined ? undefined : checkStart(this.deps, input.startsAt, role);
    const request = await storeNewRequest(this.deps, input, role, {
      durationMs,
      reason,
      openCap: this.openCap(),
      ...(startsAt !== undefined && {
        startsAt,
        // Deciding after the start would make the window late: the request times out at the start at the latest.
        approvalDeadline: Math.min(this.deps.clock.now() + role.approvalTimeoutMs, startsAt),
      }),
    });
    if (role.breakGlass) {
      return { request: await approveBreakGlass(this.deps, request, role), role };
    }
    return { request: await approveAtOnceOrAsk(this.deps, request, role), role };
  }

  /**
   * Files a bundle. Every role must be one the person may request (else the whole bundle is refused, naming the
   * role); the duration is checked against the shortest role maximum, the reason against every role's ticket
   * rule, the start against the shortest lead time, and the request times out at the shortest approval timeout.
   * Break-glass roles are refused in a bundle: emergency access is asked for alone, and reviewed alone. A bundle
   * is approved at once only when every role is auto-approved (by `autoApprove` or its rule, now); otherwise the
   * auto-approved roles count as approved and the others wait for their own approvers.
   */
  private async requestBundle(
    input: RequestAccessInput,
    roleIds: string[],
  ): Promise<{ request: AccessRequest; role: Role }> {
    if (roleIds.length > MAX_BUNDLE_ROLES) {
      throw new DomainError('invalid_bundle', { problem: 'too-many', roleIds, limit: MAX_BUNDLE_ROLES });
    }
    const roles: Role[] = [];
    for (const roleId of roleIds) roles.push(await this.requestableRole(input.requesterId, roleId));
    const breakGlass = roles.find((role) => role.breakGlass);
    if (breakGlass) throw new DomainError('invalid_bundle', { problem: 'break-glass', roleIds, roleId: breakGlass.id });
    const [first] = roles as [Role, ...Role[]];
    const shortest = (pick: (role: Role) => number) =>
      roles.reduce((best, role) => (pick(role) < pick(best) ? role : best), first);
    const limiting = shortest((role) => role.maxDurationMs);
    const durationMs = checkDuration(
      this.deps,
      input.duration === undefined
        ? shortest((role) => role.defaultDurationMs).defaultDurationMs
        : parseDuration(input.duration),
      limiting.maxDurationMs,
      limiting,
      input.duration,
    );
    let reason = input.reason;
    for (const role of roles) reason = checkReason(reason, role, { durationMs });
    const startsAt =
      input.startsAt === undefined
        ? undefined
        : checkStart(
            this.deps,
            input.startsAt,
            shortest((role) => role.maxLeadTimeMs),
          );
    const now = this.deps.clock.now();
    const timeoutAt = now + shortest((role) => role.approvalTimeoutMs).approvalTimeoutMs;
    const autoRoles: string[] = [];
    for (const role of roles) {
      const rule =
        role.autoApproveWhen !== undefined &&
        (await autoApproves(role.autoApproveWhen, input.requesterId, now, this.deps.directory));
      if (role.autoApprove || rule) autoRoles.push(role.id);
    }
    // The roles that wait for approvers come first: the first role's channel gets the approval message and its
    // escalation applies, and an auto-approved role may have no channel at all.
    const ordered = [
      ...roles.filter((role) => !autoRoles.includes(role.id)),
      ...roles.filter((role) => autoRoles.includes(role.id)),
    ];
    const lead = ordered[0] ?? first;
    const request = await storeNewRequest(this.deps, input, lead, {
      durationMs,
      reason,
      openCap: this.openCap(),
      bundle: ordered.map((role) => role.id),
      approvalDeadline: startsAt === undefined ? timeoutAt : Math.min(timeoutAt, startsAt),
      ...(startsAt !== undefined && { startsAt }),
      ...(autoRoles.length > 0 &&
        autoRoles.length < roles.length && {
          approvals: [{ userId: SYSTEM_ACTORS.autoApprove, at: now, roles: autoRoles }],
        }),
    });
    if (autoRoles.length === roles.length) {
      return {
        request: await autoApprove(this.deps, request, 'every role of the bundle is auto-approved'),
        role: first,
      };
    }
    return { request: await askApprovers(this.deps, request, first), role: first };
  }

  /** @throws DomainError `unknown_role` or `role_not_requestable`, naming the role, with what the person may request. */
  private async requestableRole(requesterId: string, roleId: string): Promise<Role> {
    const role = findRole(this.deps.policy.current(), roleId);
    if (!role || !(await mayRequest(role, requesterId, this.deps.directory))) {
      const requestable = (await requestableRoles(this.deps, requesterId)).map((r) => r.id);
      throw new DomainError(role ? 'role_not_requestable' : 'unknown_role', {
        roleId,
        requestableRoleIds: requestable,
      });
    }
    return role;
  }

  /**
   * How many open requests a person may have: checked as the request is stored, so that two filed at once cannot
   * both pass (`too_many_requests`).
   */
  private openCap(): number {
    return this.deps.policy.current().settings.maxOpenRequestsPerPerson;
  }
}
