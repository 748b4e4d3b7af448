/** The steps every new request and extension takes: start, duration and reason checks, storing it, approving it at once or asking. */
import { type AccessRequest, type Approval, OPEN_STATES, SYSTEM_ACTORS } from './access-request';
import { approvalReminderAt } from './approval-reminder';
import { escalationDueAt } from './approvals';
import type { AuditEvent } from './audit-event';
import { autoApproves } from './auto-approve-rule';
import { formatDuration } from './duration';
import { DomainError, type NewRequestAsked } from './errors';
import type { Role } from './policy';
import type { RequestServiceDeps } from './request-checks';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/** Longest reason kept; Slack messages and audit lines stay readable. */
export const MAX_REASON_LENGTH = 1000;
/** IDs taken in a row before giving up; with 40 bits of randomness this never happens in practice. */
const MAX_ID_ATTEMPTS = 5;

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
  /**
   * The most open requests the requester may have (extensions not counted), checked in the same atomic step that
   * stores this one. Absent: not capped (an extension lengthens access already counted).
   */
  openCap?: number;
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
    const creation: AuditEvent = {
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
    };
    if (fields.openCap === undefined) {
      if (await deps.store.create(request, creation)) return request;
      continue;
    }
    const outcome = await deps.store.createWithinCap(request, creation, { max: fields.openCap, states: OPEN_STATES });
    if (outcome.kind === 'created') return request;
    if (outcome.kind === 'at-cap') {
      throw new DomainError('too_many_requests', { limit: String(fields.openCap), open: outcome.open });
    }
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
  const escalatesAt = escalationDueAt(request, role);
  // Queued together (one round trip before the person's answer), in this order. The timeout job wakes first at the
  // reminder, which it queues, then at the deadline.
  await Promise.all([
    deps.scheduler.scheduleApprovalTimeout(
      request.id,
      approvalReminderAt(request, deps.policy.current().settings.reminderBeforeMs),
    ),
    escalatesAt !== undefined && escalatesAt < request.approvalDeadline
      ? deps.scheduler.scheduleEscalation(request.id, escalatesAt)
      : undefined,
    deps.scheduler.scheduleNotice(request.id, 'requested', request.version),
  ]);
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
  // Decided on the request as just stored; a change made meanwhile fails the compare-and-set and is read.
  const change = await commitChange(
    deps.store,
    request.id,
    (current) =>
      current.state === 'pending'
        ? transition(current, {
            to: 'approved',
            actor,
            reason: why,
            at,
            patch: { decidedBy: actor, decidedAt: at },
          })
        : undefined,
    request,
  );
  const approved = change?.after ?? request;
  // Queued together (one round trip before the person's answer), in this order.
  await Promise.all([
    deps.scheduler.scheduleNotice(request.id, 'requested', request.version),
    deps.scheduler.scheduleGrant(request.id, request.startsAt),
    deps.scheduler.scheduleNotice(request.id, 'approved', approved.version),
  ]);
  return approved;
}
