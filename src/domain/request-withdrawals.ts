/** Calling a request off: its requester cancels it while pending, or its requester or an approver ends it early. */
import type { AccessRequest } from './access-request';
import { isRequesterOrApprover } from './approvals';
import { DomainError } from './errors';
import { findRole } from './policy';
import { loadView, type RequestServiceDeps } from './request-checks';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/** Cancellation and early revocation, each checked against the stored request and committed atomically. */
export class RequestWithdrawals {
  constructor(private readonly deps: RequestServiceDeps) {}

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
    return change?.after ?? (await loadView(this.deps, requestId)).request;
  }
}
