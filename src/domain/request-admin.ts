/** What admins do with requests (retry a revocation, review break-glass) and the audit of refused actions. */
import type { AccessRequest } from './access-request';
import { isSelected } from './approvals';
import { DomainError, describeDetails } from './errors';
import { loadView, type RequestServiceDeps } from './request-checks';

/** Admin actions, each refused to anyone but the policy's admins (`settings.admins`), and the refusal audit. */
export class RequestAdmin {
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

  /**
   * An operator (listed in `settings.admins`) asks for a failing revocation to be tried again now instead of
   * after its backoff.
   */
  async retryRevocation(requestId: string, actorId: string): Promise<AccessRequest> {
    // Admins first: to anyone else, an existing request and a made-up ID are refused alike.
    await this.checkAdmin(actorId, requestId, 'retry-revocation');
    const { request } = await loadView(this.deps, requestId);
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
    await this.checkAdmin(actorId, requestId, 'review');
    const { request, role } = await loadView(this.deps, requestId);
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

  /** Refuses anyone but the policy's admins (`settings.admins`). */
  private async checkAdmin(actorId: string, requestId: string, action: 'retry-revocation' | 'review'): Promise<void> {
    if (await isSelected(this.deps.policy.current().settings.admins, actorId, this.deps.directory)) return;
    throw new DomainError('not_allowed', { situation: 'not-admin', action, requestId });
  }
}
