/** What every request use case shares: the ports, the stored view of a request, the origin and requester checks. */
import type { AccessRequest, MessageRef } from './access-request';
import { mayRequest } from './approvals';
import { DomainError, type OriginAction } from './errors';
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
import { unknownRequest } from './request-commit';

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

export interface RequestView {
  request: AccessRequest;
  role: Role | undefined;
  approvalMessage: MessageRef | undefined;
}

/**
 * The stored request with its role under the policy in force and its approval message.
 * @throws DomainError `unknown_request`.
 */
export async function loadView(deps: RequestServiceDeps, requestId: string): Promise<RequestView> {
  const request = await deps.store.get(requestId);
  if (!request) throw unknownRequest(requestId);
  return {
    request,
    role: findRole(deps.policy.current(), request.roleId),
    approvalMessage: await deps.store.getApprovalMessage(requestId),
  };
}

/** Refuses what comes from a workspace or organisation the policy does not serve. */
export function checkOrigin(deps: RequestServiceDeps, origin: Origin, action: OriginAction): void {
  const allowed = deps.policy.current().settings.allowedTeams;
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

/** Roles the person may request, in policy order. */
export async function requestableRoles(deps: RequestServiceDeps, userId: string): Promise<Role[]> {
  const roles: Role[] = [];
  for (const role of deps.policy.current().roles) {
    if (await mayRequest(role, userId, deps.directory)) roles.push(role);
  }
  return roles;
}
