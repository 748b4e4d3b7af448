/**
 * Calling a request off: its requester cancels it while pending, its requester or an approver cancels it before its
 * scheduled start or ends its access early.
 */
import type { AccessRequest } from './access-request';
import { isRequesterOrApprover } from './approvals';
import { DomainError } from './errors';
import { loadView, type RequestServiceDeps } from './request-checks';
import { commitChange } from './request-commit';
import { type TransitionResult, transition } from './request-machine';

/** Cancellation and early revocation, each checked against the stored request and committed atomically. */
export class RequestWithdrawals {
  constructor(private readonly deps: RequestServiceDeps) {}

  /**
   * The requester withdraws a request nobody has decided yet; an approved request whose scheduled start has not
   * come yet can be called off by its requester or an approver of the role, and its grant job is dropped.
   */
  async cancel(requestId: string, actorId: string): Promise<AccessRequest> {
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      if (isAwaitingStart(request, this.deps.clock.now())) return this.callOffBeforeStart(request, actorId, 'cancel');
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
    await this.afterCancel(change.before, change.after);
    return change.after;
  }

  /**
   * Ends an active grant before its expiry. The request stays active until the revoke job has removed the
   * access in the cloud, so the stored state never claims more than the cloud does.
   */
  async revoke(requestId: string, actorId: string): Promise<AccessRequest> {
    let calledOff = false;
    const change = await commitChange(this.deps.store, requestId, async (request) => {
      // Nothing is granted before a scheduled start: revoking then calls the request off.
      if (isAwaitingStart(request, this.deps.clock.now())) {
        calledOff = true;
        return this.callOffBeforeStart(request, actorId, 'revoke');
      }
      calledOff = false;
      if (!(await isRequesterOrApprover(request, this.deps.policy.current(), actorId, this.deps.directory))) {
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
    if (calledOff && change) {
      await this.afterCancel(change.before, change.after);
      return change.after;
    }
    await this.deps.scheduler.revokeNow(requestId);
    return change?.after ?? (await loadView(this.deps, requestId)).request;
  }

  /** Cancels an approved request before its scheduled start, by its requester or an approver of the role. */
  private async callOffBeforeStart(
    request: AccessRequest,
    actorId: string,
    action: 'cancel' | 'revoke',
  ): Promise<TransitionResult> {
    if (!(await isRequesterOrApprover(request, this.deps.policy.current(), actorId, this.deps.directory))) {
      throw new DomainError('not_allowed', {
        situation: 'not-requester-or-approver',
        action,
        requestId: request.id,
        requesterId: request.requesterId,
        roleId: request.roleId,
      });
    }
    const at = this.deps.clock.now();
    const by = actorId === request.requesterId ? 'the requester' : 'an approver';
    return transition(request, {
      to: 'cancelled',
      actor: actorId,
      reason: `called off by ${by} before its scheduled start ${new Date(request.startsAt ?? at).toISOString()}`,
      at,
      patch: { endedBy: actorId, endedAt: at },
    });
  }

  /** What follows a cancellation: no timeout or (for an approved request) grant left behind, and the notice. */
  private async afterCancel(before: AccessRequest, after: AccessRequest): Promise<void> {
    if (before.state === 'approved') await this.deps.scheduler.cancelGrant(after.id);
    else await this.deps.scheduler.cancelApprovalTimeout(after.id);
    await this.deps.scheduler.scheduleNotice(after.id, 'cancelled', after.version);
  }
}

/** True for an approved request whose scheduled start has not come: nothing is granted yet. */
export function isAwaitingStart(request: AccessRequest, now: number): boolean {
  return request.state === 'approved' && request.startsAt !== undefined && now < request.startsAt;
}
