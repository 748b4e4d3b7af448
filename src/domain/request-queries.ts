/** Reads for people: a request's status, their open requests, the roles they may request and the request form. */
import { type AccessRequest, OPEN_STATES } from './access-request';
import { isRequesterOrApprover } from './approvals';
import { DomainError } from './errors';
import type { Role } from './policy';
import { loadView, type RequestServiceDeps, type RequestView, requestableRoles } from './request-checks';

/** What the request form offers one person. */
export interface RequestForm {
  roles: Role[];
  minDurationMs: number;
}

/** Read-only views of requests and roles, limited to what the asking person may see. */
export class RequestQueries {
  constructor(private readonly deps: RequestServiceDeps) {}

  /** Roles the person may request, in policy order. */
  async requestableRoles(userId: string): Promise<Role[]> {
    return requestableRoles(this.deps, userId);
  }

  async requestForm(userId: string): Promise<RequestForm> {
    return {
      roles: await this.requestableRoles(userId),
      minDurationMs: this.deps.policy.current().settings.minDurationMs,
    };
  }

  /** A request as its requester or the role's approvers may see it. */
  async status(requestId: string, actorId: string): Promise<RequestView> {
    const view = await loadView(this.deps, requestId);
    const { request } = view;
    if (!(await isRequesterOrApprover(request, this.deps.policy.current(), actorId, this.deps.directory))) {
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
}
