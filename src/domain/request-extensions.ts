/** Extensions: how far a holder's active grant may be lengthened, and their requests for more time. */
import { type AccessRequest, SYSTEM_ACTORS } from './access-request';
import { mayRequest } from './approvals';
import { formatDuration, parseDuration } from './duration';
import { DomainError } from './errors';
import type { Role } from './policy';
import { checkOrigin, loadView, type RequestServiceDeps } from './request-checks';
import {
  approveAtOnceOrAsk,
  approveBreakGlass,
  autoApprove,
  checkDuration,
  checkReason,
  storeNewRequest,
} from './request-intake';

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

/** Requests for more time on an active grant, filed like new requests and approved the same way. */
export class RequestExtensions {
  constructor(private readonly deps: RequestServiceDeps) {}

  /** The limits of an extension of this person's active grant; refuses when it cannot be extended. */
  async extensionOptions(requestId: string, actorId: string): Promise<ExtensionOptions> {
    const { request, role } = await loadView(this.deps, requestId);
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
   * the role has `selfExtend`, is auto-approved or is break-glass); once approved the grant job moves the existing
   * grant's expiry.
   */
  async requestExtension(input: ExtensionInput): Promise<{ request: AccessRequest; role: Role }> {
    checkOrigin(
      this.deps,
      { teamId: input.teamId, ...(input.enterpriseId !== undefined && { enterpriseId: input.enterpriseId }) },
      'extend access',
    );
    const { request: extended, role, maxExtraMs } = await this.extensionOptions(input.requestId, input.requesterId);
    const extraMs = checkDuration(this.deps, parseDuration(input.duration), maxExtraMs, role, input.duration);
    const reason =
      input.reason === undefined || input.reason.trim() === ''
        ? extended.reason
        : checkReason(input.reason, role, undefined);
    const now = this.deps.clock.now();
    const request = await storeNewRequest(this.deps, input, role, {
      durationMs: extraMs,
      reason,
      extends: extended.id,
      // Deciding after the access ended would be pointless: the request times out at the expiry at the latest.
      approvalDeadline: Math.min(now + role.approvalTimeoutMs, extended.expiresAt ?? now),
    });
    if (role.selfExtend) {
      return {
        request: await autoApprove(
          this.deps,
          request,
          'the role lets its holders extend their own access',
          SYSTEM_ACTORS.selfExtend,
        ),
        role,
      };
    }
    // More emergency access is emergency access: at once, and the admins review it like the grant it extends.
    if (role.breakGlass) return { request: await approveBreakGlass(this.deps, request, role), role };
    return { request: await approveAtOnceOrAsk(this.deps, request, role), role };
  }
}
