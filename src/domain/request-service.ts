import { type AccessRequest, type MessageRef, OPEN_STATES, SYSTEM_ACTORS } from './access-request';

import { approvalsMissing, isApprover, isRequesterOrApprover, isSelected, mayRequest } from './approvals';
import { autoApproves } from './auto-approve-rule';
import { formatDuration, parseDuration } from './duration';
import { DomainError } from './errors';
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
/** Roles named when a request for a role is refused. */
const ROLES_NAMED_IN_REFUSAL = 20;
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
      ...(error.details.requestId !== undefined && { requestId: error.details.requestId }),
      actor: actorId,
      reason: `${action} refused (${error.code}): ${error.message}`,
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
      // A policy may give someone hundreds of roles; the refusal names the first few and counts the rest.
      const named = requestable.slice(0, ROLES_NAMED_IN_REFUSAL).join(', ');
      const more = requestable.length - ROLES_NAMED_IN_REFUSAL;
      const list =
        requestable.length === 0
          ? 'none (ask your platform team)'
          : more > 0
            ? `${named} and ${more} more (\`/jit roles\`)`
            : named;
      throw role
        ? new DomainError('role_not_requestable', `You may not request "${roleId}". Roles you may request: ${list}.`, {
            roleId,
            requestableRoleIds: requestable,
          })
        : new DomainError('unknown_role', `There is no role "${roleId}". Roles you may request: ${list}.`, {
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
    const reason = this.checkReason(input.reason, role, `/jit request ${role.id} ${formatDuration(durationMs)}`);
    const cap = policy.settings.maxOpenRequestsPerPerson;
    // An extension lengthens access already counted; it is not another open request.
    const open = (await this.deps.store.listByRequester(input.requesterId, OPEN_STATES)).filter(
      (request) => request.extends === undefined,
    );
    if (open.length >= cap) {
      throw new DomainError(
        'too_many_requests',
        `You already have ${open.length} pending or active requests, the most one person may have; cancel or revoke one first (\`/jit list\`).`,
        { limit: String(cap) },
      );
    }
    const request = await this.storeNewRequest(input, role, { durationMs, reason });
    if (role.breakGlass) {
      const approved = await this.autoApprove(request, 'break-glass: approved at once, to be reviewed by an admin');
      const message = `<@${request.requesterId}> used break-glass access to ${role.id} for ${formatDuration(request.durationMs)} (request ${request.id}). Reason: ${request.reason}. An admin must review it.`;
      await this.deps.audit.note({
        kind: 'alert',
        requestId: request.id,
        actor: SYSTEM_ACTORS.autoApprove,
        reason: message,
        at: request.createdAt,
      });
      await this.deps.alerter.alert({ kind: 'break-glass', requestId: request.id, message, review: true });
      return { request: approved, role };
    }
    return { request: await this.approveAtOnceOrAsk(request, role), role };
  }

  /** The limits of an extension of this person's active grant; refuses when it cannot be extended. */
  async extensionOptions(requestId: string, actorId: string): Promise<ExtensionOptions> {
    const { request, role } = await this.view(requestId);
    const now = this.deps.clock.now();
    if (request.requesterId !== actorId) {
      throw new DomainError('not_allowed', `Only <@${request.requesterId}>, who holds this access, can extend it.`, {
        requestId,
        action: 'extend',
      });
    }
    if (request.extends !== undefined) {
      throw new DomainError('invalid_state', `${request.id} is an extension; extend ${request.extends} instead.`, {
        requestId,
        action: 'extend',
      });
    }
    if (
      request.state !== 'active' ||
      request.revocationRequestedBy !== undefined ||
      request.expiresAt === undefined ||
      request.activatedAt === undefined ||
      request.expiresAt <= now
    ) {
      const why =
        request.state === 'active'
          ? 'is ending now'
          : `is ${request.state === 'approved' ? 'being granted' : request.state}`;
      throw new DomainError('invalid_state', `Access for ${request.id} ${why}, so there is nothing to extend.`, {
        requestId,
        state: request.state,
        action: 'extend',
      });
    }
    if (!role || !(await mayRequest(role, actorId, this.deps.directory))) {
      throw new DomainError(
        'role_not_requestable',
        `The policy no longer lets you request ${request.roleId}, so ${request.id} cannot be extended.`,
        { requestId, roleId: request.roleId, action: 'extend' },
      );
    }
    const waiting = (await this.deps.store.listByRequester(actorId, ['pending', 'approved'])).find(
      (other) => other.extends === request.id,
    );
    if (waiting) {
      throw new DomainError(
        'invalid_state',
        `Extension ${waiting.id} of ${request.id} is already ${waiting.state === 'pending' ? 'waiting for approval' : 'being applied'}; cancel it first to ask for a different time.`,
        { requestId, action: 'extend' },
      );
    }
    const minDurationMs = this.deps.policy.current().settings.minDurationMs;
    const usedMs = request.expiresAt - request.activatedAt;
    const maxExtraMs = role.maxDurationMs - usedMs;
    if (maxExtraMs < minDurationMs) {
      throw new DomainError(
        'duration_too_long',
        `${request.id} already lasts ${formatDuration(usedMs)} of the ${formatDuration(role.maxDurationMs)} ${role.id} allows in total; ask anew with \`/jit request ${role.id}\` when it ends.`,
        { requestId, roleId: role.id, limit: formatDuration(role.maxDurationMs), action: 'extend' },
      );
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
        throw new DomainError(
          'already_approved_by_you',
          `You already approved ${request.id}; it needs approval from ${approvalsMissing(request, role)} more approver(s).`,
          { requestId: request.id },
        );
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
        throw new DomainError(
          'not_allowed',
          `Only <@${request.requesterId}>, who asked for ${request.id}, can cancel it.`,
          { requestId: request.id, action: 'cancel' },
        );
      }
      if (request.state !== 'pending') {
        const hint =
          request.state === 'approved' || request.state === 'active'
            ? ` To end the access, use \`/jit revoke ${request.id}\`.`
            : '';
        throw new DomainError(
          'invalid_state',
          `Request ${request.id} is already ${request.state}, so it cannot be cancelled.${hint}`,
          { requestId: request.id, state: request.state, action: 'cancel' },
        );
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
        throw new DomainError(
          'not_allowed',
          `Only <@${request.requesterId}> or an approver of ${request.roleId} can revoke ${request.id}.`,
          { requestId: request.id, action: 'revoke' },
        );
      }
      if (request.state === 'approved') {
        throw new DomainError(
          'invalid_state',
          `Access for ${request.id} is being granted right now; revoke it again in a few seconds.`,
          { requestId: request.id, state: request.state, action: 'revoke' },
        );
      }
      if (request.state === 'pending') {
        throw new DomainError(
          'invalid_state',
          `Request ${request.id} is still pending, so there is no access to revoke.${request.requesterId === actorId ? ` Use \`/jit cancel ${request.id}\` to withdraw it.` : ''}`,
          { requestId: request.id, state: request.state, action: 'revoke' },
        );
      }
      if (request.state !== 'active') {
        throw new DomainError(
          'invalid_state',
          `Request ${request.id} is already ${request.state}; there is no access to revoke.`,
          { requestId: request.id, state: request.state, action: 'revoke' },
        );
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
      throw new DomainError(
        'not_allowed',
        `Only <@${request.requesterId}> and the approvers of ${request.roleId} can see ${request.id}.`,
        { requestId: request.id, action: 'status' },
      );
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
    await this.checkAdmin(actorId, requestId, 'retry-revocation', 'retry a revocation');
    if (request.state !== 'active') {
      throw new DomainError('invalid_state', `Request ${request.id} is already ${request.state}; nothing to retry.`, {
        requestId,
        state: request.state,
        action: 'retry-revocation',
      });
    }
    await this.deps.scheduler.revokeNow(requestId);
    return request;
  }

  /** An admin records that they reviewed a break-glass grant after the fact. */
  async reviewBreakGlass(requestId: string, actorId: string): Promise<AccessRequest> {
    const { request, role } = await this.view(requestId);
    await this.checkAdmin(actorId, requestId, 'review', 'review break-glass access');
    if (role !== undefined && !role.breakGlass) {
      throw new DomainError(
        'invalid_state',
        `Request ${requestId} was not break-glass access; there is nothing to review.`,
        {
          requestId,
          action: 'review',
        },
      );
    }
    await this.deps.audit.note({
      kind: 'review',
      requestId,
      actor: actorId,
      reason: `break-glass access of <@${request.requesterId}> to ${request.roleId} reviewed`,
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
  private async checkAdmin(actorId: string, requestId: string, action: string, what: string): Promise<void> {
    if (await isSelected(this.deps.policy.current().settings.admins, actorId, this.deps.directory)) return;
    throw new DomainError('not_allowed', `Only the admins named in the policy (settings.admins) can ${what}.`, {
      requestId,
      action,
    });
  }

  /** Refuses what comes from a workspace or organisation the policy does not serve. */
  private checkOrigin(origin: Origin, action: string): void {
    const allowed = this.deps.policy.current().settings.allowedTeams;
    if (allowed.length === 0) return;
    if (origin.teamId !== undefined && allowed.includes(origin.teamId)) return;
    if (origin.enterpriseId !== undefined && allowed.includes(origin.enterpriseId)) return;
    throw new DomainError(
      'foreign_team',
      `This bot serves only its own workspace${allowed.length > 1 ? 's' : ''}; you cannot ${action} from ${origin.teamId ?? origin.enterpriseId ?? 'an unknown workspace'}.`,
      { action },
    );
  }

  private async checkDecider(
    request: AccessRequest,
    actorId: string,
    action: 'approve' | 'deny',
    click: ClickContext,
  ): Promise<Role> {
    this.checkOrigin(click, action);
    if (!click.fromAppHome) {
      // Decisions are made only on the request's own approval message (or the decider's own App Home); a click
      // naming no message is refused too.
      const stored = await this.deps.store.getApprovalMessage(request.id);
      if (!stored || stored.channel !== click.message?.channel || stored.ts !== click.message?.ts) {
        throw new DomainError(
          'stale_click',
          `That button is not on the approval message of ${request.id}; decide on the message in <#${stored?.channel ?? 'its approval channel'}>.`,
          { requestId: request.id, action },
        );
      }
    }
    if (request.state !== 'pending') {
      throw new DomainError(
        'invalid_state',
        `Request ${request.id} is already ${request.state}; nothing to ${action}.`,
        { requestId: request.id, state: request.state, action },
      );
    }
    if (this.deps.clock.now() >= request.approvalDeadline) {
      throw new DomainError(
        'invalid_state',
        `Request ${request.id} waited too long for a decision and has timed out; the requester can ask again.`,
        { requestId: request.id, state: 'timed-out', action },
      );
    }
    if (request.requesterId === actorId) {
      throw new DomainError(
        'self_approval',
        action === 'approve'
          ? `You asked for ${request.id}, so you cannot approve it; another approver of ${request.roleId} must.`
          : `You asked for ${request.id}; withdraw it with \`/jit cancel ${request.id}\` instead of denying it.`,
        { requestId: request.id, action },
      );
    }
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (!role) {
      throw new DomainError(
        'not_allowed',
        `Role ${request.roleId} is no longer in the policy, so ${request.id} can no longer be decided.`,
        { requestId: request.id, roleId: request.roleId, action },
      );
    }
    if (!(await isApprover(role, actorId, this.deps.directory))) {
      throw new DomainError(
        'not_allowed',
        `You are not an approver of ${role.id}, so you cannot ${action} ${request.id}.`,
        { requestId: request.id, roleId: role.id, action },
      );
    }
    const standing = await this.deps.directory.userStanding(actorId);
    if (!standing || standing.deactivated || standing.guest) {
      throw new DomainError(
        'inactive_account',
        `Your Slack account is ${!standing ? 'unknown to Slack' : standing.deactivated ? 'deactivated' : 'a guest account'}, so it cannot ${action} access requests.`,
        { requestId: request.id, action },
      );
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
      throw new DomainError(
        'duration_too_long',
        `${formatDuration(durationMs)} is longer than ${role.id} allows; ask for at most ${formatDuration(maxMs)}.`,
        { roleId: role.id, ...(input !== undefined && { input }), limit: formatDuration(maxMs) },
      );
    }
    const minDurationMs = this.deps.policy.current().settings.minDurationMs;
    if (durationMs < minDurationMs) {
      throw new DomainError(
        'duration_too_short',
        `${formatDuration(durationMs)} is shorter than the minimum; ask for at least ${formatDuration(minDurationMs)}.`,
        { roleId: role.id, ...(input !== undefined && { input }), limit: formatDuration(minDurationMs) },
      );
    }
    return durationMs;
  }

  /** @returns the trimmed reason when it is present, not too long, and names a ticket where the role needs one. */
  /** `usage` is the command to show in the hint, when the reason was typed in one. */
  private checkReason(text: string, role: Role, usage: string | undefined): string {
    const reason = text.trim();
    if (reason === '') {
      throw new DomainError(
        'missing_reason',
        `Say why you need ${role.id}${usage ? `: \`${usage} <reason, e.g. a ticket>\`` : ''}.`,
        {
          roleId: role.id,
        },
      );
    }
    if (reason.length > MAX_REASON_LENGTH) {
      throw new DomainError(
        'reason_too_long',
        `The reason is ${reason.length} characters long; keep it under ${MAX_REASON_LENGTH} and link to details.`,
        { roleId: role.id, limit: String(MAX_REASON_LENGTH) },
      );
    }
    if (role.ticketPattern !== undefined && !new RegExp(role.ticketPattern).test(reason)) {
      throw new DomainError(
        'missing_ticket',
        `${role.id} needs a ticket reference in the reason (matching \`${role.ticketPattern}\`, e.g. INC-42)${usage ? `: \`${usage} INC-42 <why>\`` : ''}.`,
        { roleId: role.id },
      );
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
