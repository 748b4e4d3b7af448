/** Decisions on pending requests: approve, deny, and the checks on who decides, from where and when. */
import type { AccessRequest, MessageRef } from './access-request';
import { approvalsMissing, isApprover } from './approvals';
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
}

export interface ApprovalOutcome {
  request: AccessRequest;
  /** Distinct approvals still needed; 0 means the request is now approved. */
  approvalsMissing: number;
}

/** Approvers' decisions, each checked against the policy in force and committed atomically. */
export class RequestDecisions {
  constructor(private readonly deps: RequestServiceDeps) {}

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

  /** Checks that the actor may decide this pending request now, under the policy in force. */
  private async checkDecider(
    request: AccessRequest,
    actorId: string,
    action: DecisionAction,
    click: ClickContext,
  ): Promise<Role> {
    checkOrigin(this.deps, click, action);
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
}
