/** Extensions: how far a holder's active grant may be lengthened, and their requests for more time. */
import { type AccessRequest, SYSTEM_ACTORS } from './access-request';
import { mayRequest } from './approvals';
import { bundleRoleIds, isBundle } from './bundle';
import { formatDuration, parseDuration } from './duration';
import { DomainError } from './errors';
import {
  approveAtOnceOrAsk,
  approveBreakGlass,
  askApprovers,
  autoApprove,
  checkDuration,
  checkReason,
  storeNewRequest,
} from './new-request-steps';
import { findRole, type Role } from './policy';
import { checkOrigin, loadView, type RequestServiceDeps } from './request-checks';

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
    const { request } = await loadView(this.deps, requestId);
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
    // A bundle is extended whole: every role must still be requestable, and its shortest maximum bounds the total.
    const roles: Role[] = [];
    for (const roleId of bundleRoleIds(request)) {
      const each = findRole(this.deps.policy.current(), roleId);
      if (!each || !(await mayRequest(each, actorId, this.deps.directory))) {
        throw new DomainError('role_not_requestable', { requestId, roleId, action: 'extend' });
      }
      roles.push(each);
    }
    const role = roles.reduce((best, each) => (each.maxDurationMs < best.maxDurationMs ? each : best));
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
    const needsApproval = roles.some((each) => !extendsWithoutApproval(each));
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
    if (isBundle(extended)) return this.requestBundleExtension(input, extended, role, extraMs, reason);
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

  /**
   * An extension of a bundle is a bundle too: each role's approvers approve it for their role, except roles that
   * extend without approval (`selfExtend` or auto-approved), which count as approved; when every role does, it is
   * approved at once.
   */
  private async requestBundleExtension(
    input: ExtensionInput,
    extended: AccessRequest,
    limiting: Role,
    extraMs: number,
    reason: string,
  ): Promise<{ request: AccessRequest; role: Role }> {
    const policy = this.deps.policy.current();
    const roles = bundleRoleIds(extended)
      .map((roleId) => findRole(policy, roleId))
      .filter((each) => each !== undefined);
    const [first] = roles as [Role, ...Role[]];
    const now = this.deps.clock.now();
    const timeoutMs = Math.min(...roles.map((each) => each.approvalTimeoutMs));
    const free = roles.filter(extendsWithoutApproval).map((each) => each.id);
    const request = await storeNewRequest(this.deps, input, first, {
      durationMs: extraMs,
      reason,
      extends: extended.id,
      bundle: [...bundleRoleIds(extended)],
      approvalDeadline: Math.min(now + timeoutMs, extended.expiresAt ?? now),
      ...(free.length > 0 &&
        free.length < roles.length && { approvals: [{ userId: SYSTEM_ACTORS.autoApprove, at: now, roles: free }] }),
    });
    if (free.length === roles.length) {
      const approved = await autoApprove(this.deps, request, 'every role of the bundle extends without approval');
      return { request: approved, role: limiting };
    }
    return { request: await askApprovers(this.deps, request, first), role: first };
  }
}

/** Roles whose holders get more time without an approver. */
function extendsWithoutApproval(role: Role): boolean {
  return role.selfExtend || role.autoApprove || role.breakGlass;
}
