/** What every deferred grant step shares: its ports, what it reports, and the policy in force it checks against. */
import type { AccessRequest, GrantRecord } from './access-request';
import { mayRequest } from './approvals';
import { emailForGrant } from './cloud-identity';
import { revokeJobWakeAt } from './expiry-reminder';
import { GrantRefused } from './grant-refusal';
import { findRole, type Role } from './policy';
import type {
  Alerter,
  AuditLog,
  Clock,
  CloudProvider,
  CloudProviders,
  JobScheduler,
  PeopleDirectory,
  PolicySource,
  RequestStore,
} from './ports';

export interface GrantLifecycleDeps {
  store: RequestStore;
  scheduler: JobScheduler;
  clock: Clock;
  policy: PolicySource;
  providers: CloudProviders;
  directory: PeopleDirectory;
  audit: AuditLog;
  alerter: Alerter;
}

/** What a deferred step did, so the job layer can log it and reschedule when it ran too early. */
export type LifecycleOutcome =
  | { kind: 'done'; request: AccessRequest; latenessMs?: number; reasserted?: string[] }
  | { kind: 'skipped'; why: string }
  /** `reminderQueued`: a job woken before its deadline queued a reminder (the expiry's or the approvers'). */
  | { kind: 'not-due'; dueAt: number; reminderQueued?: true };

/**
 * The policy may have changed since the approval (the role removed, the requester no longer among its
 * requesters): nothing is granted then.
 * @throws GrantRefused (not retryable) `role_removed` or `requester_not_allowed`.
 */
export async function checkStillAllowed(deps: GrantLifecycleDeps, request: AccessRequest): Promise<void> {
  const role = roleInForce(deps, request);
  if (!(await mayRequest(role, request.requesterId, deps.directory))) {
    throw new GrantRefused({
      code: 'requester_not_allowed',
      details: { requesterId: request.requesterId, roleId: role.id },
    });
  }
}

/** The provider of the request's role under the policy in force. */
export function providerFor(deps: GrantLifecycleDeps, request: AccessRequest): CloudProvider {
  return deps.providers.get(roleInForce(deps, request).provider);
}

/** @throws GrantRefused (not retryable) `role_removed` when the role is gone from the policy. */
export function roleInForce(deps: GrantLifecycleDeps, request: AccessRequest): Role {
  const role = findRole(deps.policy.current(), request.roleId);
  if (!role) throw new GrantRefused({ code: 'role_removed', details: { roleId: request.roleId } });
  return role;
}

/**
 * What to grant and to whom, from the policy in force: the role's target, the person's mapped identities,
 * and their email when the provider names people by email. For a cleanup, an email the policy does not trust
 * is left out rather than refused: the provider then removes only what it can name without it.
 */
export async function grantRecordFromPolicy(
  deps: GrantLifecycleDeps,
  request: AccessRequest,
  provider: CloudProvider,
  use: 'grant' | 'cleanup' = 'grant',
): Promise<GrantRecord> {
  const role = roleInForce(deps, request);
  const policy = deps.policy.current();
  const identities = policy.principals[request.requesterId] ?? {};
  const email = await emailForGrant(request.requesterId, identities, provider, policy.settings, deps.directory).catch(
    (error: unknown) => {
      if (use === 'cleanup' && error instanceof GrantRefused) return undefined;
      throw error;
    },
  );
  return { provider: role.provider, target: role.target, identities, ...(email !== undefined && { email }) };
}

/**
 * Puts the request's one revoke job at its next wake: the expiry reminder while it is ahead (the job sends it and
 * sleeps on), else its backstop after the expiry (the expiry sweep ends the grant at the expiry itself). Called
 * again after an extension, it moves the job, so the new expiry gets its own reminder.
 */
export async function scheduleRevocationJob(deps: GrantLifecycleDeps, request: AccessRequest): Promise<void> {
  const at = revokeJobWakeAt(request, deps.clock.now(), deps.policy.current().settings.reminderBeforeMs);
  if (at !== undefined) await deps.scheduler.scheduleRevocation(request.id, at);
}
