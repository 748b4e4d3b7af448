/** Filing requests: checks of role, duration, reason, ticket and the open-request cap; auto-approval, break-glass. */
import { type AccessRequest, type Approval, OPEN_STATES, SYSTEM_ACTORS } from './access-request';
import { escalationDueAt, mayRequest } from './approvals';
import { autoApproves } from './auto-approve-rule';
import { MAX_BUNDLE_ROLES } from './bundle';
import { formatDuration, parseDuration } from './duration';
import { DomainError, type NewRequestAsked } from './errors';
import { findRole, type Role } from './policy';
import { checkOrigin, type RequestServiceDeps, requestableRoles } from './request-checks';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/** Longest reason kept; Slack messages and audit lines stay readable. */
export const MAX_REASON_LENGTH = 1000;
/** IDs taken in a row before giving up; with 40 bits of randomness this never happens in practice. */
const MAX_ID_ATTEMPTS = 5;

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

/** What a new request (for access, or for more time on it) is stored with besides its requester and role. */
export interface NewRequestFields {
  durationMs: number;
  reason: string;
  /** The active request an extension lengthens. */
  extends?: string;
  /** The role's approval timeout from now when absent. */
  approvalDeadline?: number;
  /** The scheduled start, already checked. */
  startsAt?: number;
  /** Every role of a bundle, the role passed first. */
  bundle?: string[];
  /** Approvals the request starts with (a bundle's auto-approved roles). */
  approvals?: Approval[];
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
    await this.checkOpenCap(input.requesterId);
    const request = await storeNewRequest(this.deps, input, role, {
      durationMs,
      reason,
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
    await this.checkOpenCap(input.requesterId);
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

  /** @throws DomainError `too_many_requests` when the person already has as many open requests as allowed. */
  private async checkOpenCap(requesterId: string): Promise<void> {
    const cap = this.deps.policy.current().settings.maxOpenRequestsPerPerson;
    // An extension lengthens access already counted; it is not another open request.
    const open = (await this.deps.store.listByRequester(requesterId, OPEN_STATES)).filter(
      (request) => request.extends === undefined,
    );
    if (open.length >= cap) {
      throw new DomainError('too_many_requests', { limit: String(cap), open: open.length });
    }
  }
}

/**
 * Approves a break-glass request (or an extension of such access) at once, and tells the audit trail and the
 * admins it must be reviewed.
 */
export async function approveBreakGlass(
  deps: RequestServiceDeps,
  request: AccessRequest,
  role: Role,
): Promise<AccessRequest> {
  const approved = await autoApprove(deps, request, 'break-glass: approved at once, to be reviewed by an admin');
  await deps.audit.note({
    kind: 'alert',
    requestId: request.id,
    actor: SYSTEM_ACTORS.autoApprove,
    reason: `${request.requesterId} used break-glass access to ${role.id} for ${formatDuration(request.durationMs)} (request ${request.id}). Reason: ${request.reason}. An admin must review it.`,
    at: request.createdAt,
  });
  await deps.alerter.alert({
    kind: 'break-glass',
    requestId: request.id,
    details: {
      requesterId: request.requesterId,
      roleId: role.id,
      durationMs: request.durationMs,
      reason: request.reason,
    },
    review: true,
  });
  return approved;
}

/** @returns the scheduled start when it is in the future and no further ahead than the role's `maxLeadTime`. */
export function checkStart(deps: RequestServiceDeps, startsAt: number, role: Role): number {
  const now = deps.clock.now();
  if (startsAt <= now) throw new DomainError('start_in_past', { startsAt, now });
  if (startsAt - now > role.maxLeadTimeMs) {
    throw new DomainError('start_too_far', {
      roleId: role.id,
      startsAt,
      now,
      limit: formatDuration(role.maxLeadTimeMs),
      maxLeadMs: role.maxLeadTimeMs,
    });
  }
  return startsAt;
}

/** @returns the duration when it is within the role's bounds (`maxMs`, the policy minimum). */
export function checkDuration(
  deps: RequestServiceDeps,
  durationMs: number,
  maxMs: number,
  role: Role,
  input: string | undefined,
): number {
  if (durationMs > maxMs) {
    throw new DomainError('duration_too_long', {
      roleId: role.id,
      ...(input !== undefined && { input }),
      limit: formatDuration(maxMs),
      durationMs,
      maxMs,
    });
  }
  const minDurationMs = deps.policy.current().settings.minDurationMs;
  if (durationMs < minDurationMs) {
    throw new DomainError('duration_too_short', {
      roleId: role.id,
      ...(input !== undefined && { input }),
      limit: formatDuration(minDurationMs),
      durationMs,
      minMs: minDurationMs,
    });
  }
  return durationMs;
}

/**
 * @returns the trimmed reason when it is present, not too long, and names a ticket where the role needs one.
 * `newRequest` is set for a new request (not an extension), so the refusal can show how to ask again.
 */
export function checkReason(text: string, role: Role, newRequest: NewRequestAsked | undefined): string {
  const reason = text.trim();
  const asked = newRequest !== undefined ? { newRequest } : {};
  if (reason === '') {
    throw new DomainError('missing_reason', { roleId: role.id, ...asked });
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new DomainError('reason_too_long', {
      roleId: role.id,
      limit: String(MAX_REASON_LENGTH),
      length: reason.length,
    });
  }
  if (role.ticketPattern !== undefined && !new RegExp(role.ticketPattern).test(reason)) {
    throw new DomainError('missing_ticket', { roleId: role.id, ticketPattern: role.ticketPattern, ...asked });
  }
  return reason;
}

/** Stores a new pending request under a fresh ID, with its creation in the audit trail. */
export async function storeNewRequest(
  deps: RequestServiceDeps,
  input: { requesterId: string; teamId: string },
  role: Role,
  fields: NewRequestFields,
): Promise<AccessRequest> {
  const now = deps.clock.now();
  for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt += 1) {
    const request: AccessRequest = {
      id: deps.ids.newRequestId(),
      roleId: role.id,
      requesterId: input.requesterId,
      teamId: input.teamId,
      reason: fields.reason,
      durationMs: fields.durationMs,
      state: 'pending',
      version: 1,
      createdAt: now,
      updatedAt: now,
      approvalDeadline: fields.approvalDeadline ?? now + role.approvalTimeoutMs,
      approvals: fields.approvals ?? [],
      ...(fields.bundle !== undefined && fields.bundle.length > 1 && { bundle: fields.bundle }),
      ...(fields.extends !== undefined && { extends: fields.extends }),
      ...(fields.startsAt !== undefined && { startsAt: fields.startsAt }),
    };
    const created = await deps.store.create(request, {
      requestId: request.id,
      from: 'none',
      to: 'pending',
      actor: input.requesterId,
      reason:
        (fields.bundle !== undefined && fields.bundle.length > 1 ? `bundle of ${fields.bundle.join(', ')}: ` : '') +
        (fields.extends !== undefined
          ? `extend ${fields.extends} by ${formatDuration(fields.durationMs)}: ${fields.reason}`
          : fields.startsAt !== undefined
            ? `scheduled start ${new Date(fields.startsAt).toISOString()}: ${fields.reason}`
            : fields.reason),
      at: now,
    });
    if (created) return request;
  }
  throw new Error(`could not find a free request ID in ${MAX_ID_ATTEMPTS} attempts`);
}

/** Approves at once when the role or its rule says so; otherwise starts the wait for approvers. */
export async function approveAtOnceOrAsk(
  deps: RequestServiceDeps,
  request: AccessRequest,
  role: Role,
): Promise<AccessRequest> {
  const rule =
    role.autoApproveWhen !== undefined &&
    (await autoApproves(role.autoApproveWhen, request.requesterId, request.createdAt, deps.directory));
  if (role.autoApprove || rule) {
    const why = role.autoApprove ? 'the role is auto-approved' : "the request matches the role's auto-approve rule";
    return autoApprove(deps, request, why);
  }
  return askApprovers(deps, request, role);
}

/** Starts the wait for approvers: the timeout, the escalation (of `role`, the first role of a bundle), the reminder. */
export async function askApprovers(
  deps: RequestServiceDeps,
  request: AccessRequest,
  role: Role,
): Promise<AccessRequest> {
  await deps.scheduler.scheduleApprovalTimeout(request.id, request.approvalDeadline);
  const escalatesAt = escalationDueAt(request, role);
  if (escalatesAt !== undefined && escalatesAt < request.approvalDeadline) {
    await deps.scheduler.scheduleEscalation(request.id, escalatesAt);
  }
  const reminderBeforeMs = Math.min(
    deps.policy.current().settings.reminderBeforeMs,
    (request.approvalDeadline - request.createdAt) / 2,
  );
  await deps.scheduler.scheduleReminder(
    request.id,
    'approval-reminder',
    request.approvalDeadline - reminderBeforeMs,
    request.version,
  );
  await deps.scheduler.scheduleNotice(request.id, 'requested', request.version);
  return request;
}

/** Approves a just-filed request without an approver (`actor` says why), and starts the grant. */
export async function autoApprove(
  deps: RequestServiceDeps,
  request: AccessRequest,
  why: string,
  actor: string = SYSTEM_ACTORS.autoApprove,
): Promise<AccessRequest> {
  const at = deps.clock.now();
  const change = await commitChange(deps.store, request.id, (current) =>
    current.state === 'pending'
      ? transition(current, {
          to: 'approved',
          actor,
          reason: why,
          at,
          patch: { decidedBy: actor, decidedAt: at },
        })
      : undefined,
  );
  const approved = change?.after ?? request;
  await deps.scheduler.scheduleNotice(request.id, 'requested', request.version);
  await deps.scheduler.scheduleGrant(request.id, request.startsAt);
  await deps.scheduler.scheduleNotice(request.id, 'approved', approved.version);
  return approved;
}
