import { type AccessRequest, type MessageRef, OPEN_STATES, SYSTEM_ACTORS } from './access-request';

import { approvalsMissing, isApprover, isRequesterOrApprover, isSelected, mayRequest } from './approvals';
import { autoApproves } from './auto-approve-rule';
import { formatDuration, parseDuration } from './duration';
import { type DecisionAction, DomainError, describeDetails, type NewRequestAsked, type OriginAction } from './errors';
import { findRole, type Role } from './policy';
import type {
  Alerter,
  AuditLog,
  Clock,
  IdGenerator,
  JobScheduler,
  PeopleDirectory,
  PolicySource,
  RequestStore,
} from './ports';
import { commitChange, unknownRequest } from './request-commit';
import { transition } from './request-machine';

/** Longest reason kept; Slack messages and audit lines stay readable. */
export const MAX_REASON_LENGTH = 1000;
/** Longest denial reason kept; the modal allows no more. */
export const MAX_DENIAL_REASON_LENGTH = 500;
/** IDs taken in a row before giving up; with 40 bits of randomness this never happens in practice. */
const MAX_ID_ATTEMPTS = 5;

export interface RequestServiceDeps {
  audit: AuditLog;
  alerter: Alerter;
  store: RequestStore;
  scheduler: JobScheduler;
  clock: Clock;
  ids: IdGenerator;
  policy: PolicySource;
  directory: PeopleDirectory;
}

/** Where a click or command came from, as Slack signed it. */
export interface Origin {
  teamId?: string;
  enterpriseId?: string;
}

/**
 * A click on a button: its origin and where the button is: the message it sits on, or the clicker's own App
 * Home (which the bot publishes to that one person, so a click there is theirs).
 */
export interface ClickContext extends Origin {
  message?: MessageRef;
  fromAppHome?: boolean;
}

export interface RequestAccessInput {
  requesterId: string;
  teamId: string;
  enterpriseId?: string;
  roleId: string;
  /** Human duration such as `2h`; the role's default when absent. */
  duration?: string;
  reason: string;
}

export interface ExtensionInput {
  requesterId: string;
  teamId: string;
  enterpriseId?: string;
  /** The active request whose access is to last longer. */
  requestId: string;
  /** Extra time, human duration such as `1h`. */
  duration: string;
  /** Why; the original request's reason when absent or blank. */
  reason?: string;
}

/** How far an active grant may be extended, and whether an approver must agree. */
export interface ExtensionOptions {
  request: AccessRequest;
  role: Role;
  maxExtraMs: number;
  minDurationMs: number;
  needsApproval: boolean;
}

/** What the request form offers one person. */
export interface RequestForm {
  roles: Role[];
  minDurationMs: number;
}

export interface ApprovalOutcome {
  request: AccessRequest;
  /** Distinct approvals still needed; 0 means the request is now approved. */
  approvalsMissing: number;
}

export interface RequestView {
  request: AccessRequest;
  role: Role | undefined;
  approvalMessage: MessageRef | undefined;
}

/** The things people do with requests, each checked against the policy in force and committed atomically. */
export class RequestService {
  constructor(private readonly deps: RequestServiceDeps) {}

  /** Records a refusal in the audit trail: who tried what, and why it was refused. */
  async recordRefusal(actorId: string, action: string, error: DomainError): Promise<void> {
    await this.deps.audit.note({
      kind: 'refusal',
      ...(error.requestId !== undefined && { requestId: error.requestId }),
      actor: actorId,
      reason: `${action} refused (${error.code}): ${describeDetails(error.details)}`,
      at: this.deps.clock.now(),
    });
  }

  /** Roles the person may request, in policy order. */
  async requestableRoles(userId: string): Promise<Role[]> {
    const roles: Role[] = [];
    for (const role of this.deps.policy.current().roles) {
      if (await mayRequest(role, userId, this.deps.directory)) roles.push(role);
    }
    return roles;
  }

  async requestForm(userId: string): Promise<RequestForm> {
    return {
      roles: await this.requestableRoles(userId),
      minDurationMs: this.deps.policy.current().settings.minDurationMs,
    };
  }

  /** Files a request; auto-approving roles go straight to granting. Nothing is stored if any check fails. */
  async requestAccess(input: RequestAccessInput): Promise<{ request: AccessRequest; role: Role }> {
    const policy = this.deps.policy.current();
    this.checkOrigin(
      { teamId: input.teamId, ...(input.enterpriseId !== undefined && { enterpriseId: input.enterpriseId }) },
      'request access',
    );
    const roleId = input.roleId.trim().toLowerCase();
    const role = findRole(policy, roleId);
    if (!role || !(await mayRequest(role, input.requesterId, this.deps.directory))) {
      const requestable = (await this.requestableRoles(input.requesterId)).map((r) => r.id);
      throw new DomainError(role ? 'role_not_requestable' : 'unknown_role', {
        roleId,
        requestableRoleIds: requestable,
      });
    }

    const durationMs = this.checkDuration(
      input.duration === undefined ? role.defaultDurationMs : parseDuration(input.duration),
      role.maxDurationMs,
      role,
      input.duration,
    );
    const reason = this.checkReason(input.reason, role, { durationMs });
    const cap = policy.settings.maxOpenRequestsPerPerson;
    // An extension lengthens access already counted; it is not another open request.
    const open = (await this.deps.store.listByRequester(input.requesterId, OPEN_STATES)).filter(
      (request) => request.extends === undefined,
    );
    if (open.length >= cap) {
      throw new DomainError('too_many_requests', { limit: String(cap), open: open.length });
    }
    const request = await this.storeNewRequest(input, role, { durationMs, reason });
    if (role.breakGlass) {
      const approved = await this.autoApprove(request, 'break-glass: approved at once, to be reviewed by an admin');
      await this.deps.audit.note({
        kind: 'alert',
        requestId: request.id,
        actor: SYSTEM_ACTORS.autoApprove,
        reason: `${request.requesterId} used break-glass access to ${role.id} for ${formatDuration(request.durationMs)} (request ${request.id}). Reason: ${request.reason}. An admin must review it.`,
        at: request.createdAt,
      });
      await this.deps.alerter.alert({
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
      return { request: approved, role };
    }
    return { request: await this.approveAtOnceOrAsk(request, role), role };
  }

  /** The limits of an extension of this person's active grant; refuses when it cannot be extended. */
  async extensionOptions(requestId: string, actorId: string): Promise<ExtensionOptions> {
    const { request, role } = await this.view(requestId);
    const now = this.deps.clock.now();
    if (request.requesterId !== actorId) {
      throw new DomainError('not_allowed', {
        situation: 'not-holder',
        action: 'extend',
        requestId,
        requesterId: request.requesterId,
      });
    }
    if (request.extends !== undefined) {
      throw new DomainError('invalid_state', {
        situation: 'is-extension',
        action: 'extend',
        requestId,
        extends: request.extends,
      });
    }
    if (
      request.state !== 'active' ||
      request.revocationRequestedBy !== undefined ||
      request.expiresAt === undefined ||
      request.activatedAt === undefined ||
      request.expiresAt <= now
    ) {
      throw new DomainError('invalid_state', {
        situation: 'nothing-to-extend',
        action: 'extend',
        requestId,
        state: request.state,
      });
    }
    if (!role || !(await mayRequest(role, actorId, this.deps.directory))) {
      throw new DomainError('role_not_requestable', { requestId, roleId: request.roleId, action: 'extend' });
    }
    const waiting = (await this.deps.store.listByRequester(actorId, ['pending', 'approved'])).find(
      (other) => other.extends === request.id,
    );
    if (waiting) {
      throw new DomainError('invalid_state', {
        situation: 'extension-waiting',
        action: 'extend',
        requestId,
        extensionId: waiting.id,
        extensionState: waiting.state === 'pending' ? 'pending' : 'approved',
      });
    }
    const minDurationMs = this.deps.policy.current().settings.minDurationMs;
    const usedMs = request.expiresAt - request.activatedAt;
    const maxExtraMs = role.maxDurationMs - usedMs;
    if (maxExtraMs < minDurationMs) {
      throw new DomainError('duration_too_long', {
        requestId,
        roleId: role.id,
        limit: formatDuration(role.maxDurationMs),
        usedMs,
        maxMs: role.maxDurationMs,
        action: 'extend',
      });
    }
    const needsApproval = !role.selfExtend && !role.autoApprove && !role.breakGlass;
    return { request, role, maxExtraMs, minDurationMs, needsApproval };
  }

  /**
   * Asks for more time on an active grant: an extension request that needs approval like a new request (unless
   * the role has `selfExtend`); once approved the grant job moves the existing grant's expiry.
   */
  async requestExtension(input: ExtensionInput): Promise<{ request: AccessRequest; role: Role }> {
    this.checkOrigin(
      { teamId: input.teamId, ...(input.enterpriseId !== undefined && { enterpriseId: input.enterpriseId }) },
      'extend access',
    );
    const { request: extended, role, maxExtraMs } = await this.extensionOptions(input.requestId, input.requesterId);
    const extraMs = this.checkDuration(parseDuration(input.duration), maxExtraMs, role, input.duration);
    const reason =
      input.reason === undefined || input.reason.trim() === ''
        ? extended.reason
        : this.checkReason(input.reason, role, undefined);
    const now = this.deps.clock.now();
    const request = await this.storeNewRequest(input, role, {
      durationMs: extraMs,
      reason,
      extends: extended.id,
      // Deciding after the access ended would be pointless: the request times out at the expiry at the latest.
      approvalDeadline: Math.min(now + role.approvalTimeoutMs, extended.expiresAt ?? now),
    });
    if (role.selfExtend) {
      return {
        request: await this.autoApprove(
          request,
          'the role lets its holders extend their own access',
          SYSTEM_ACTORS.selfExtend,
        ),
        role,
      };
    }
    return { request: await this.approveAtOnceOrAsk(request, role), role };
  }

  /** Records one approver's yes; the request is approved once the role's number of distinct approvals is met. */
  async approve(requestId: string, actorId: string, click: ClickContext = {}): Promise<ApprovalOutcome> {
    let missing = 0;
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      const role = await this.checkDecider(request, actorId, 'approve', click);
      if (request.approvals.some((approval) => approval.userId === actorId)) {
        throw new DomainError('already_approved_by_you', {
          requestId: request.id,
          approvalsMissing: approvalsMissing(request, role),
        });
      }
      const at = this.deps.clock.now();
      const approvals = [...request.approvals, { userId: actorId, at }];
      missing = approvalsMissing({ ...request, approvals }, role);
      const given = role.approvalsRequired - missing;
      return missing > 0
        ? transition(request, {
            to: 'pending',
            actor: actorId,
            reason: `approval ${given} of ${role.approvalsRequired}`,
            at,
            patch: { approvals },
          })
        : transition(request, {
            to: 'approved',
            actor: actorId,
            reason: `approved (${given} of ${role.approvalsRequired})`,
            at,
            patch: { approvals, decidedBy: actorId, decidedAt: at },
          });
    });
    if (!change) throw new Error('approve decided on no change');
    const { after } = change;
    if (after.state === 'approved') {
      await this.deps.scheduler.cancelApprovalTimeout(after.id);
      await this.deps.scheduler.scheduleGrant(after.id);
      await this.deps.scheduler.scheduleNotice(after.id, 'approved', after.version);
    } else {
      await this.deps.scheduler.scheduleNotice(after.id, 'approval-recorded', after.version);
    }
    return { request: after, approvalsMissing: missing };
  }

  async deny(requestId: string, actorId: string, click: ClickContext = {}, reason = ''): Promise<AccessRequest> {
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      await this.checkDecider(request, actorId, 'deny', click);
      const at = this.deps.clock.now();
      return transition(request, {
        to: 'denied',
        actor: actorId,
        reason: reason.trim() || 'denied',
        at,
        patch: {
          decidedBy: actorId,
          decidedAt: at,
          ...(reason.trim() !== '' && { denialReason: reason.trim().slice(0, MAX_DENIAL_REASON_LENGTH) }),
        },
      });
    });
    if (!change) throw new Error('deny decided on no change');
    await this.deps.scheduler.cancelApprovalTimeout(requestId);
    await this.deps.scheduler.scheduleNotice(requestId, 'denied', change.after.version);
    return change.after;
  }

  /** The requester withdraws a request nobody has decided yet. */
  async cancel(requestId: string, actorId: string): Promise<AccessRequest> {
    const change = await commitChange(this.deps.store, requestId, (request) => {
      if (request.requesterId !== actorId) {
        throw new DomainError('not_allowed', {
          situation: 'not-requester',
          action: 'cancel',
          requestId: request.id,
          requesterId: request.requesterId,
        });
      }
      if (request.state !== 'pending') {
        throw new DomainError('invalid_state', {
          situation: 'not-pending',
          action: 'cancel',
          requestId: request.id,
          state: request.state,
        });
      }
      const at = this.deps.clock.now();
      return transition(request, { to: 'cancelled', actor: actorId, reason: 'cancelled by requester', at });
    });
    if (!change) throw new Error('cancel decided on no change');
    await this.deps.scheduler.cancelApprovalTimeout(requestId);
    await this.deps.scheduler.scheduleNotice(requestId, 'cancelled', change.after.version);
    return change.after;
  }

  /**
   * Ends an active grant before its expiry. The request stays active until the revoke job has removed the
   * access in the cloud, so the stored state never claims more than the cloud does.
   */
  async revoke(requestId: string, actorId: string): Promise<AccessRequest> {
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      const role = findRole(this.deps.policy.current(), request.roleId);
      if (!(await isRequesterOrApprover(request, role, actorId, this.deps.directory))) {
        throw new DomainError('not_allowed', {
          situation: 'not-requester-or-approver',
          action: 'revoke',
          requestId: request.id,
          requesterId: request.requesterId,
          roleId: request.roleId,
        });
      }
      if (request.state === 'approved') {
        throw new DomainError('invalid_state', {
          situation: 'being-granted',
          action: 'revoke',
          requestId: request.id,
          state: request.state,
        });
      }
      if (request.state === 'pending') {
        throw new DomainError('invalid_state', {
          situation: 'still-pending',
          action: 'revoke',
          requestId: request.id,
          state: request.state,
          byRequester: request.requesterId === actorId,
        });
      }
      if (request.state !== 'active') {
        throw new DomainError('invalid_state', {
          situation: 'not-active',
          action: 'revoke',
          requestId: request.id,
          state: request.state,
        });
      }
      if (request.revocationRequestedBy !== undefined) return undefined;
      const at = this.deps.clock.now();
      return transition(request, {
        to: 'active',
        actor: actorId,
        reason: 'early revocation requested',
        at,
        patch: { revocationRequestedBy: actorId, revocationRequestedAt: at },
      });
    });
    await this.deps.scheduler.revokeNow(requestId);
    return change?.after ?? (await this.view(requestId)).request;
  }

  /** A request as its requester or the role's approvers may see it. */
  async status(requestId: string, actorId: string): Promise<RequestView> {
    const view = await this.view(requestId);
    const { request, role } = view;
    if (!(await isRequesterOrApprover(request, role, actorId, this.deps.directory))) {
      throw new DomainError('not_allowed', {
        situation: 'not-requester-or-approver',
        action: 'status',
        requestId: request.id,
        requesterId: request.requesterId,
        roleId: request.roleId,
      });
    }
    return view;
  }

  /** The person's pending, approved and active requests, newest first. */
  async openRequests(userId: string): Promise<AccessRequest[]> {
    return this.deps.store.listByRequester(userId, OPEN_STATES);
  }

  /**
   * An operator (listed in `settings.admins`) asks for a failing revocation to be tried again now instead of
   * after its backoff.
   */
  async retryRevocation(requestId: string, actorId: string): Promise<AccessRequest> {
    const { request } = await this.view(requestId);
    await this.checkAdmin(actorId, requestId, 'retry-revocation');
    if (request.state !== 'active') {
      throw new DomainError('invalid_state', {
        situation: 'not-active',
        action: 'retry-revocation',
        requestId,
        state: request.state,
      });
    }
    await this.deps.scheduler.revokeNow(requestId);
    return request;
  }

  /** An admin records that they reviewed a break-glass grant after the fact. */
  async reviewBreakGlass(requestId: string, actorId: string): Promise<AccessRequest> {
    const { request, role } = await this.view(requestId);
    await this.checkAdmin(actorId, requestId, 'review');
    if (role !== undefined && !role.breakGlass) {
      throw new DomainError('invalid_state', { situation: 'not-break-glass', action: 'review', requestId });
    }
    await this.deps.audit.note({
      kind: 'review',
      requestId,
      actor: actorId,
      reason: `break-glass access of ${request.requesterId} to ${request.roleId} reviewed`,
      at: this.deps.clock.now(),
    });
    return request;
  }

  /**
   * Checks, without changing anything, that the actor may decide the request now; lets the Slack layer refuse a
   * Deny click at once instead of after the reason was typed.
   */
  async checkMayDecide(
    requestId: string,
    actorId: string,
    action: 'approve' | 'deny',
    click: ClickContext,
  ): Promise<AccessRequest> {
    const { request } = await this.view(requestId);
    await this.checkDecider(request, actorId, action, click);
    return request;
  }

  /** Asks for the approval message to be redrawn from the stored state (after a click on a stale message). */
  async refreshApprovalMessage(requestId: string): Promise<void> {
    const request = await this.deps.store.get(requestId);
    if (request) await this.deps.scheduler.scheduleNotice(requestId, 'refresh', request.version);
  }

  private async view(requestId: string): Promise<RequestView> {
    const request = await this.deps.store.get(requestId);
    if (!request) throw unknownRequest(requestId);
    return {
      request,
      role: findRole(this.deps.policy.current(), request.roleId),
      approvalMessage: await this.deps.store.getApprovalMessage(requestId),
    };
  }

  /** Checks that the actor may decide this pending request now, under the policy in force. */
  /** Refuses anyone but the policy's admins (`settings.admins`). */
  private async checkAdmin(actorId: string, requestId: string, action: 'retry-revocation' | 'review'): Promise<void> {
    if (await isSelected(this.deps.policy.current().settings.admins, actorId, this.deps.directory)) return;
    throw new DomainError('not_allowed', { situation: 'not-admin', action, requestId });
  }

  /** Refuses what comes from a workspace or organisation the policy does not serve. */
  private checkOrigin(origin: Origin, action: OriginAction): void {
    const allowed = this.deps.policy.current().settings.allowedTeams;
    if (allowed.length === 0) return;
    if (origin.teamId !== undefined && allowed.includes(origin.teamId)) return;
    if (origin.enterpriseId !== undefined && allowed.includes(origin.enterpriseId)) return;
    const from = origin.teamId ?? origin.enterpriseId;
    throw new DomainError('foreign_team', {
      action,
      ...(from !== undefined && { origin: from }),
      allowedCount: allowed.length,
    });
  }

  private async checkDecider(
    request: AccessRequest,
    actorId: string,
    action: DecisionAction,
    click: ClickContext,
  ): Promise<Role> {
    this.checkOrigin(click, action);
    if (!click.fromAppHome) {
      // Decisions are made only on the request's own approval message (or the decider's own App Home); a click
      // naming no message is refused too.
      const stored = await this.deps.store.getApprovalMessage(request.id);
      if (!stored || stored.channel !== click.message?.channel || stored.ts !== click.message?.ts) {
        throw new DomainError('stale_click', {
          requestId: request.id,
          action,
          ...(stored !== undefined && { channel: stored.channel }),
        });
      }
    }
    if (request.state !== 'pending') {
      throw new DomainError('invalid_state', {
        situation: 'already-decided',
        action,
        requestId: request.id,
        state: request.state,
      });
    }
    if (this.deps.clock.now() >= request.approvalDeadline) {
      throw new DomainError('invalid_state', {
        situation: 'decision-timed-out',
        action,
        requestId: request.id,
        state: 'timed-out',
      });
    }
    if (request.requesterId === actorId) {
      throw new DomainError('self_approval', { requestId: request.id, roleId: request.roleId, action });
    }
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (!role) {
      throw new DomainError('not_allowed', {
        situation: 'role-removed',
        action,
        requestId: request.id,
        roleId: request.roleId,
      });
    }
    if (!(await isApprover(role, actorId, this.deps.directory))) {
      throw new DomainError('not_allowed', {
        situation: 'not-approver',
        action,
        requestId: request.id,
        roleId: role.id,
      });
    }
    const standing = await this.deps.directory.userStanding(actorId);
    if (!standing || standing.deactivated || standing.guest) {
      throw new DomainError('inactive_account', {
        requestId: request.id,
        action,
        account: !standing ? 'unknown' : standing.deactivated ? 'deactivated' : 'guest',
      });
    }
    return role;
  }

  private async storeNewRequest(
    input: { requesterId: string; teamId: string },
    role: Role,
    fields: { durationMs: number; reason: string; extends?: string; approvalDeadline?: number },
  ): Promise<AccessRequest> {
    const now = this.deps.clock.now();
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt += 1) {
      const request: AccessRequest = {
        id: this.deps.ids.newRequestId(),
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
        approvals: [],
        ...(fields.extends !== undefined && { extends: fields.extends }),
      };
      const created = await this.deps.store.create(request, {
        requestId: request.id,
        from: 'none',
        to: 'pending',
        actor: input.requesterId,
        reason:
          fields.extends !== undefined
            ? `extend ${fields.extends} by ${formatDuration(fields.durationMs)}: ${fields.reason}`
            : fields.reason,
        at: now,
      });
      if (created) return request;
    }
    throw new Error(`could not find a free request ID in ${MAX_ID_ATTEMPTS} attempts`);
  }

  /** Approves at once when the role or its rule says so; otherwise starts the wait for approvers. */
  private async approveAtOnceOrAsk(request: AccessRequest, role: Role): Promise<AccessRequest> {
    const rule =
      role.autoApproveWhen !== undefined &&
      (await autoApproves(role.autoApproveWhen, request.requesterId, request.createdAt, this.deps.directory));
    if (role.autoApprove || rule) {
      const why = role.autoApprove ? 'the role is auto-approved' : "the request matches the role's auto-approve rule";
      return this.autoApprove(request, why);
    }
    await this.deps.scheduler.scheduleApprovalTimeout(request.id, request.approvalDeadline);
    const reminderBeforeMs = Math.min(
      this.deps.policy.current().settings.reminderBeforeMs,
      (request.approvalDeadline - request.createdAt) / 2,
    );
    await this.deps.scheduler.scheduleReminder(
      request.id,
      'approval-reminder',
      request.approvalDeadline - reminderBeforeMs,
      request.version,
    );
    await this.deps.scheduler.scheduleNotice(request.id, 'requested', request.version);
    return request;
  }

  /** @returns the duration when it is within the role's bounds (`maxMs`, the policy minimum). */
  private checkDuration(durationMs: number, maxMs: number, role: Role, input: string | undefined): number {
    if (durationMs > maxMs) {
      throw new DomainError('duration_too_long', {
        roleId: role.id,
        ...(input !== undefined && { input }),
        limit: formatDuration(maxMs),
        durationMs,
        maxMs,
      });
    }
    const minDurationMs = this.deps.policy.current().settings.minDurationMs;
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
  private checkReason(text: string, role: Role, newRequest: NewRequestAsked | undefined): string {
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

  private async autoApprove(
    request: AccessRequest,
    why: string,
    actor: string = SYSTEM_ACTORS.autoApprove,
  ): Promise<AccessRequest> {
    const at = this.deps.clock.now();
    const change = await commitChange(this.deps.store, request.id, (current) =>
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
    await this.deps.scheduler.scheduleNotice(request.id, 'requested', request.version);
    await this.deps.scheduler.scheduleGrant(request.id);
    await this.deps.scheduler.scheduleNotice(request.id, 'approved', approved.version);
    return approved;
  }
}
