import type { AccessRequest, MessageRef } from '../../../../src/domain/access-request';
import type { AuditEntry } from '../../../../src/domain/audit-event';
import { AuditService } from '../../../../src/domain/audit-service';
import { DomainError, type DomainErrorCode, type DomainErrorDetailsByCode } from '../../../../src/domain/errors';
import { GrantLifecycle } from '../../../../src/domain/grant-lifecycle';
import type { Policy, PolicySettings } from '../../../../src/domain/policy';
import type { NoticeKind } from '../../../../src/domain/ports';
import { Reconciler } from '../../../../src/domain/reconciler';
import { type RequestAccessInput, RequestService } from '../../../../src/domain/request-service';
import { RevocationMonitor } from '../../../../src/domain/revocation-monitor';
import {
  type InMemoryWorld,
  type InMemoryWorldOptions,
  inMemoryWorld,
  type JobHandlers,
} from '../../../support/in-memory';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * One policy with a role for each decision path. People: U0ALICE and U0BOB request; U0LEAD, U0SEC and the on-call
 * group (U0CAROL, U0DAVE) approve; U0ADMIN is the only admin; the DBAs group (U0ERIN) may request `restricted`.
 */
export const POLICY = `
settings:
  defaultDuration: 1h
  minDuration: 5m
  maxDuration: 8h
  approvalTimeout: 30m
  reminderBefore: 10m
  adminChannel: C0ADMIN
  admins:
    users: [U0ADMIN]
  maxOpenRequestsPerPerson: 2
  propagation:
    dryrun: 2m
roles:
  - id: sandbox-admin
    description: Admin on the sandbox account
    provider: dryrun
    maxDuration: 4h
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
      usergroups: [S0ONCALL]
  - id: prod-admin
    description: Admin in production
    provider: dryrun
    risk: high
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD, U0SEC]
      usergroups: [S0ONCALL]
  - id: restricted
    description: Only Bob and the DBAs may ask for this
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
    requesters:
      users: [U0BOB]
      usergroups: [S0DBAS]
  - id: ticketed
    description: Needs a ticket in the reason
    provider: dryrun
    approvalChannel: C0APPROVALS
    requireTicket: true
    approvers:
      users: [U0LEAD]
  - id: staging-deployer
    description: Deploy to staging
    provider: dryrun
    autoApprove: true
  - id: office-hours
    description: Auto-approved for the SREs in New York office hours
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
    autoApproveWhen:
      usergroups: [S0SRE]
      hours: 09:00-17:00
      days: [mon, tue, wed, thu, fri]
      timeZone: America/New_York
  - id: emergency
    description: Break-glass admin
    provider: dryrun
    breakGlass: true
  - id: self-extend
    description: Extend without asking
    provider: dryrun
    maxDuration: 2h
    selfExtend: true
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
  - id: broken
    description: Every grant fails
    provider: dryrun
    target:
      failGrantWith: the sandbox account is closed
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
  - id: sql-viewer
    description: View Cloud SQL
    provider: gcp
    target: { resource: projects/p, role: roles/cloudsql.viewer }
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
`;

export const USERGROUPS = { S0ONCALL: ['U0CAROL', 'U0DAVE'], S0DBAS: ['U0ERIN'], S0SRE: ['U0ALICE'] };

/** Where approval messages are "posted" in these tests. */
export const APPROVAL_MESSAGE: MessageRef = { channel: 'C0APPROVALS', ts: '1700000000.000100' };

/** The in-memory world with every domain service built from its deps, and shortcuts to drive them. */
export interface ServiceWorld extends InMemoryWorld {
  requests: RequestService;
  lifecycle: GrantLifecycle;
  reconciler: Reconciler;
  audits: AuditService;
  monitor: RevocationMonitor;
  /** Handlers that run the scheduler's jobs through the services, as the workers do. */
  handlers: JobHandlers;
  /** Files a request for `sandbox-admin` by U0ALICE from T0HOME unless told otherwise. */
  file(overrides?: Partial<RequestAccessInput>): Promise<AccessRequest>;
  /** Records that the approval message of the request is posted (what the `requested` notice does). */
  postApprovalMessage(requestId: string): Promise<{ message: MessageRef }>;
  /** A granted request: filed, approved by U0LEAD (and U0SEC for a second approval), activated. */
  activeGrant(overrides?: Partial<RequestAccessInput>): Promise<AccessRequest>;
  /** Changes settings under the running services, as a policy reload would. */
  setSettings(changes: Partial<PolicySettings>): void;
  /** The request as stored now (throws when it is not). */
  stored(requestId: string): Promise<AccessRequest>;
}

export function serviceWorld(options: Partial<InMemoryWorldOptions> = {}): ServiceWorld {
  const world = inMemoryWorld({ policy: POLICY, usergroups: USERGROUPS, ...options });
  const requests = new RequestService(world.deps);
  const lifecycle = new GrantLifecycle(world.deps);
  const stored = async (requestId: string) => {
    const request = await world.store.get(requestId);
    if (!request) throw new Error(`request ${requestId} is not stored`);
    return request;
  };
  const file = async (overrides: Partial<RequestAccessInput> = {}) =>
    (
      await requests.requestAccess({
        requesterId: 'U0ALICE',
        teamId: 'T0HOME',
        roleId: 'sandbox-admin',
        reason: 'debugging INC-42',
        ...overrides,
      })
    ).request;
  const postApprovalMessage = async (requestId: string) => {
    await world.store.setApprovalMessage(requestId, APPROVAL_MESSAGE);
    return { message: APPROVAL_MESSAGE };
  };
  return {
    ...world,
    requests,
    lifecycle,
    reconciler: new Reconciler(world.deps),
    audits: new AuditService(world.deps),
    monitor: new RevocationMonitor(world.deps),
    handlers: {
      grant: (job) => lifecycle.activate(job.requestId ?? ''),
      revoke: (job) => lifecycle.finishAccess(job.requestId ?? ''),
      'approval-timeout': (job) => lifecycle.timeOutPending(job.requestId ?? ''),
      escalation: (job) => lifecycle.escalate(job.requestId ?? ''),
      'revocation-check': (job) => lifecycle.verifyRevoked(job.requestId ?? ''),
      expirySweeps: {
        async nextExpiry(after) {
          const [next] = await world.store.listByState('active', Number.POSITIVE_INFINITY, after);
          return next?.expiresAt;
        },
        sweep: (stretch) => lifecycle.sweepExpired(stretch, { concurrency: 4 }),
      },
    },
    file,
    postApprovalMessage,
    async activeGrant(overrides = {}) {
      const filed = await file(overrides);
      if (filed.state === 'pending') {
        const click = await postApprovalMessage(filed.id);
        const { approvalsMissing } = await requests.approve(filed.id, 'U0LEAD', click);
        if (approvalsMissing > 0) await requests.approve(filed.id, 'U0SEC', click);
      }
      const outcome = await lifecycle.activate(filed.id);
      if (outcome.kind !== 'done') throw new Error(`activate ${filed.id}: ${JSON.stringify(outcome)}`);
      return outcome.request;
    },
    setSettings(changes) {
      const current: Policy = world.policy.current();
      world.setPolicy({ ...current, settings: { ...current.settings, ...changes } });
    },
    stored,
  };
}

/** Everything a refused action must leave as it was. */
export async function observable(world: InMemoryWorld) {
  const entries: AuditEntry[] = [];
  for await (const entry of world.auditLog.entries()) entries.push(entry);
  const requests = await world.store.all();
  return {
    requests: requests.sort((a, b) => a.id.localeCompare(b.id)),
    approvalMessages: await Promise.all(requests.map((request) => world.store.getApprovalMessage(request.id))),
    jobs: world.scheduler.jobs().map((job) => ({ ...job })),
    cloudCalls: world.providers.list().map((provider) => world.cloud(provider.name).calls.length),
    artefacts: world.providers.list().flatMap((provider) => world.cloud(provider.name).grants()),
    audit: entries,
    alerts: [...world.alerter.alerts],
    notices: world.notifier.calls.length,
  };
}

/**
 * Runs `action`, expects the domain to refuse it with `code` (and exactly `details`, when given), and checks that
 * nothing changed: no request, version, job, cloud call, audit entry, alert or notice. Returns the refusal.
 */
export async function expectRefusal<C extends DomainErrorCode>(
  world: InMemoryWorld,
  action: () => Promise<unknown>,
  code: C,
  details?: DomainErrorDetailsByCode[C],
): Promise<DomainError<C>> {
  const before = await observable(world);
  const error = await action().then(
    (result) => {
      throw new Error(`expected a ${code} refusal, got ${JSON.stringify(result)}`);
    },
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof DomainError)) throw error;
  expect(error.code).toBe(code);
  if (details !== undefined) expect(error.details).toEqual(details);
  expect(await observable(world)).toEqual(before);
  return error as DomainError<C>;
}

/** A request's state changes, oldest first, as `from→to by actor: reason`. */
export async function transitions(world: InMemoryWorld, requestId: string): Promise<string[]> {
  return (await world.auditLog.read({ requestId })).map(
    (event) => `${event.from}→${event.to} by ${event.actor}: ${event.reason}`,
  );
}

/** The IDs of jobs not yet run, sorted. */
export function pendingJobIds(world: InMemoryWorld): string[] {
  return world.scheduler
    .pending()
    .map((job) => job.id)
    .sort();
}

/**
 * The notices queued about a request, of one kind, as `kind v<version>` in the order queued. A notice queued again
 * (same kind and version) is one job, as with BullMQ, so it appears once: each entry is one message sent.
 */
export function noticesQueued(world: InMemoryWorld, requestId: string, kind: NoticeKind): string[] {
  return world.scheduler
    .jobs()
    .filter((job) => job.kind === 'notice' && job.requestId === requestId && job.noticeKind === kind)
    .map((job) => `${kind} v${job.version}`);
}
