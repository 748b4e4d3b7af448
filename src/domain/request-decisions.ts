/** Decisions on pending requests: approve, deny, and the checks on who decides, from where and when. */
import type { AccessRequest, Approval, MessageRef } from './access-request';
import { approvalsMissing, approvedDuration, escalationDueAt, isApprover, isEscalationApprover } from './approvals';
import { bundleApprovalsMissing, bundleRoleIds, isBundle } from './bundle';
import { formatDuration } from './duration';
import { type DecisionAction, DomainError } from './errors';
import { findRole, type Role } from './policy';
import { checkOrigin, loadView, type Origin, type RequestServiceDeps } from './request-checks';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/** Longest denial reason kept; the modal allows no more. */
export const MAX_DENIAL_REASON_LENGTH = 500;

/**
 * A click on a button: its origin and where the button is: the message it sits on, or the clicker's own App
 * Home (which the bot publishes to that one person, so a click there is theirs).
 */
export interface ClickContext extends Origin {
  message?: MessageRef;
  fromAppHome?: boolean;
  /**
   * The click is in the bot's direct message with the clicker, which only they see: the escalation DM, the one DM
   * that carries Approve and Deny, so it is accepted on an escalated request only.
   */
  fromDirectMessage?: boolean;
}

export interface ApprovalOutcome {
  request: AccessRequest;
  /** Distinct approvals still needed; 0 means the request is now approved. */
  approvalsMissing: number;
}

/** Approvers' decisions, each checked against the policy in force and committed atomically. */
export class RequestDecisions {
  constructor(private readonly deps: RequestServiceDeps) {}

  /**
   * Records one approver's yes; the request is approved once the role's number of distinct approvals is met.
   * `durationMs` is a shorter duration the approver chose (at most the one asked for, at least the policy's
   * minimum); the shortest any approver chose is what is granted.
   */
  async approve(
    requestId: string,
    actorId: string,
    click: ClickContext = {},
    durationMs?: number,
  ): Promise<ApprovalOutcome> {
    let missing = 0;
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      const { role, countsFor } = await this.checkDecider(request, actorId, 'approve', click);
      const bundle = isBundle(request);
      const policy = this.deps.policy.current();
      const totalMissing = (current: AccessRequest) =>
        bundle
          ? bundleApprovalsMissing(policy, current).reduce((sum, each) => sum + each.missing, 0)
          : approvalsMissing(current, role);
      if (request.approvals.some((approval) => approval.userId === actorId)) {
        throw new DomainError('already_approved_by_you', {
          requestId: request.id,
          approvalsMissing: totalMissing(request),
        });
      }
      const chosen = durationMs === undefined ? undefined : this.checkApprovalDuration(request, durationMs);
      const at = this.deps.clock.now();
      const approval: Approval = {
        userId: actorId,
        at,
        ...(chosen !== undefined && { durationMs: chosen }),
        // On a bundle an approver's yes counts for the roles they approve, and only those.
        ...(bundle && { roles: countsFor }),
      };
      const approvals = [...request.approvals, approval];
      missing = totalMissing({ ...request, approvals });
      const given = role.approvalsRequired - missing;
      const forWhat = chosen !== undefined ? ` for ${formatDuration(chosen)}` : '';
      if (missing > 0) {
        return transition(request, {
          to: 'pending',
          actor: actorId,
          reason: bundle
            ? `approval for ${countsFor.join(', ')}${forWhat}; ${missing} more needed across the bundle`
            : `approval ${given} of ${role.approvalsRequired}${forWhat}`,
          at,
          patch: { approvals },
        });
      }
      const granted = approvedDuration({ ...request, approvals });
      const shorter = granted.durationMs < request.durationMs;
      return transition(request, {
        to: 'approved',
        actor: actorId,
        reason: `approved (${bundle ? `every role of the bundle has its approvals` : `${given} of ${role.approvalsRequired}`})${
          shorter ? ` for ${formatDuration(granted.durationMs)} instead of ${formatDuration(request.durationMs)}` : ''
        }`,
        at,
        patch: {
          approvals,
          decidedBy: actorId,
          decidedAt: at,
          ...(shorter && { durationMs: granted.durationMs, requestedDurationMs: request.durationMs }),
        },
      });
    });
    if (!change) throw new Error('approve decided on no change');
    const { after } = change;
    if (after.state === 'approved') {
      await this.deps.scheduler.cancelApprovalTimeout(after.id);
      // A scheduled start waits for its time; otherwise the grant runs now.
      await this.deps.scheduler.scheduleGrant(after.id, after.startsAt);
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
    const { request } = await loadView(this.deps, requestId);
    await this.checkDecider(request, actorId, action, click);
    return request;
  }

  /** Asks for the approval message to be redrawn from the stored state (after a click on a stale message). */
  async refreshApprovalMessage(requestId: string): Promise<void> {
    const request = await this.deps.store.get(requestId);
    if (request) await this.deps.scheduler.scheduleNotice(requestId, 'refresh', request.version);
  }

  /**
   * @returns the approver's chosen duration when shorter than asked for; undefined when it is the one asked for.
   * @throws DomainError `invalid_approval_duration` when longer than asked for or below the policy's minimum.
   */
  private checkApprovalDuration(request: AccessRequest, durationMs: number): number | undefined {
    if (durationMs === request.durationMs) return undefined;
    const minMs = this.deps.policy.current().settings.minDurationMs;
    if (durationMs > request.durationMs || durationMs < minMs) {
      throw new DomainError('invalid_approval_duration', {
        requestId: request.id,
        roleId: request.roleId,
        durationMs,
        problem: durationMs > request.durationMs ? 'longer-than-requested' : 'below-minimum',
        requestedMs: request.durationMs,
        minMs,
      });
    }
    return durationMs;
  }

  /** Checks that the actor may decide this pending request now, under the policy in force. */
  private async checkDecider(
    request: AccessRequest,
    actorId: string,
    action: DecisionAction,
    click: ClickContext,
  ): Promise<{ role: Role; countsFor: string[] }> {
    checkOrigin(this.deps, click, action);
    const inEscalationDm = click.fromDirectMessage === true && request.escalatedAt !== undefined;
    if (!click.fromAppHome && !inEscalationDm) {
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
    const roles: Role[] = [];
    for (const roleId of bundleRoleIds(request)) {
      const found = findRole(this.deps.policy.current(), roleId);
      if (!found) {
        throw new DomainError('not_allowed', { situation: 'role-removed', action, requestId: request.id, roleId });
      }
      roles.push(found);
    }
    const [role] = roles as [Role, ...Role[]];
    const countsFor: string[] = [];
    for (const each of roles) if (await isApprover(each, actorId, this.deps.directory)) countsFor.push(each.id);
    if (countsFor.length === 0) {
      const escalatesAt = escalationDueAt(request, role);
      const escalatee = await isEscalationApprover(role, actorId, this.deps.directory);
      if (escalatee && request.escalatedAt === undefined && escalatesAt !== undefined) {
        throw new DomainError('not_allowed', {
          situation: 'not-yet-escalated',
          action,
          requestId: request.id,
          roleId: role.id,
          escalatesAt,
        });
      }
      if (!escalatee) {
        throw new DomainError('not_allowed', {
          situation: 'not-approver',
          action,
          requestId: request.id,
          roleId: role.id,
        });
      }
      // A bundle escalates as its first role does; an escalation approver's yes counts for that role.
      countsFor.push(role.id);
    }
    const standing = await this.deps.directory.userStanding(actorId);
    if (!standing || standing.deactivated || standing.guest) {
      throw new DomainError('inactive_account', {
        requestId: request.id,
        action,
        account: !standing ? 'unknown' : standing.deactivated ? 'deactivated' : 'guest',
      });
    }
    return { role, countsFor };
  }
}
