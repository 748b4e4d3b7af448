import type { AccessRequest } from '../../src/domain/access-request';
import type { Role } from '../../src/domain/policy';

/** 2026-03-10 09:00:00 UTC: a fixed instant so rendered times are predictable. */
export const T0 = Date.UTC(2026, 2, 10, 9, 0, 0);

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A pending request for `sandbox-admin`, one hour, created at T0; override any field. */
export function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'k7m2xq9d',
    roleId: 'sandbox-admin',
    requesterId: 'U0REQUESTER',
    teamId: 'T0TEAM',
    reason: 'debugging INC-42',
    durationMs: HOUR,
    state: 'pending',
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    approvalDeadline: T0 + 30 * MINUTE,
    approvals: [],
    ...overrides,
  };
}

/** An approval-gated dry-run role needing one approval; override any field. */
export function makeRole(overrides: Partial<Role> = {}): Role {
  return {
    id: 'sandbox-admin',
    description: 'Admin on the sandbox account',
    provider: 'dryrun',
    target: {},
    maxDurationMs: 4 * HOUR,
    defaultDurationMs: HOUR,
    approvalTimeoutMs: 30 * MINUTE,
    approvalChannel: 'C0APPROVALS',
    approvers: { users: ['U0LEAD'], usergroups: [] },
    approvalsRequired: 1,
    autoApprove: false,
    requesters: { users: [], usergroups: [] },
    risk: 'low',
    breakGlass: false,
    selfExtend: false,
    maxLeadTimeMs: 7 * 24 * HOUR,
    ...overrides,
  };
}
