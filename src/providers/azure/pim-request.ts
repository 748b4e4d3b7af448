/**
 * What the bot reads from PIM role assignment schedule requests and schedules, kept free of I/O so it can be
 * tested on its own: how far a request has got, and how to compare the scopes and times Azure hands back.
 */

/**
 * Where a schedule request stands, from its `status`. The values are the `RequestStatus` enum of
 * `RoleAssignmentScheduleRequest.json` (Microsoft.Authorization, api-version 2020-10-01):
 * - `done`: PIM has applied it (`Provisioned`; `Revoked` is how a removal ends);
 * - `needs-approval`: it waits for a person, which no amount of waiting by the bot changes;
 * - `failed`: it ended without applying;
 * - `pending`: anything else, including values added after that enum, still on its way.
 */
export type RequestProgress = 'done' | 'needs-approval' | 'failed' | 'pending';

const DONE = new Set(['provisioned', 'revoked']);
const NEEDS_APPROVAL = new Set(['pendingapproval', 'pendingapprovalprovisioning', 'pendingadmindecision']);
const FAILED = new Set([
  'denied',
  'failed',
  'failedasresourceislocked',
  'admindenied',
  'timedout',
  'invalid',
  'canceled',
]);

export function requestProgress(status: string | undefined): RequestProgress {
  const key = (status ?? '').toLowerCase();
  if (DONE.has(key)) return 'done';
  if (NEEDS_APPROVAL.has(key)) return 'needs-approval';
  if (FAILED.has(key)) return 'failed';
  return 'pending';
}

/** PIM schedule states after which the assignment gives no access; anything else counts as live. */
const ENDED_SCHEDULE_STATES = new Set(['revoked', 'canceled', 'denied', 'failed', 'timedout', 'invalid', 'expired']);

/** True when a schedule's `status` says it gives no access any more. */
export function scheduleEnded(status: string | undefined): boolean {
  return ENDED_SCHEDULE_STATES.has((status ?? '').toLowerCase());
}

/**
 * The scope as the bot writes it. PIM hands subscription scopes back as
 * `/providers/Microsoft.Subscription/subscriptions/<id>...` (spec example GetRoleAssignmentSchedulesByScope.json:
 * the schedule's `id`, `scope` and `roleAssignmentScheduleRequestId`), which names the same place as
 * `/subscriptions/<id>...`; the case of what follows is kept.
 */
export function canonicalScope(scope: string): string {
  return scope.replace(/^\/?providers\/Microsoft\.Subscription(?=\/subscriptions\/)/i, '').replace(/\/+$/, '');
}

/** The key two scopes compare equal by: canonical, and lowercased since ARM IDs are case-insensitive. */
export function normalScope(scope: string): string {
  return canonicalScope(scope).toLowerCase();
}

export function sameScope(a: string | undefined, b: string): boolean {
  return a !== undefined && normalScope(a) === normalScope(b);
}

/**
 * How far apart two schedule times may be and still be the same grant. PIM adjusts the times it is given by
 * seconds: it moves a schedule's start to when it provisioned it (terraform-provider-azurerm,
 * pim_active_role_assignment_resource.go: "the value returned by the server advances in short intervals until the
 * request has been fully processed"), and the spec's own examples show a schedule ending 10 seconds before the
 * requested start plus duration (PutRoleAssignmentScheduleRequest.json vs GetRoleAssignmentSchedulesByScope.json).
 * PIM works in minutes (its shortest assignment is 5 minutes), so anything under a minute is such an adjustment and
 * never a different expiry the bot asked for.
 */
export const SCHEDULE_TIME_TOLERANCE_MS = 60_000;

export function sameScheduleTime(a: number | undefined, b: number): boolean {
  return a !== undefined && Math.abs(a - b) < SCHEDULE_TIME_TOLERANCE_MS;
}

/**
 * PIM's shortest active assignment: 5 minutes, and an assignment cannot be removed in its first 5 minutes
 * (Microsoft Learn, "Assign Azure resource roles in Privileged Identity Management"; ARM answers a removal too
 * soon with `ActiveDurationTooShort`).
 */
export const PIM_MINIMUM_ACTIVE_MS = 5 * 60_000;

/** `<scope>/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/<name>` split into its parts. */
export function splitRequestId(id: string | undefined): { scope: string; name: string } | undefined {
  if (id === undefined) return undefined;
  const marker = '/providers/microsoft.authorization/roleassignmentschedulerequests/';
  const at = id.toLowerCase().lastIndexOf(marker);
  if (at < 0) return undefined;
  return { scope: canonicalScope(id.slice(0, at)) || '/', name: id.slice(at + marker.length) };
}

/**
 * The schedule name a `targetRoleAssignmentScheduleId` should carry. The spec's examples give it as the bare GUID
 * that names the schedule (PutRoleAssignmentScheduleRequest.json: `c9e264ff-...`, the `name` of the schedule in
 * GetRoleAssignmentSchedulesByScope.json), not its full resource ID, so a full ID is cut down to its last segment.
 */
export function scheduleName(schedule: { id?: string; name?: string }): string | undefined {
  return schedule.name ?? schedule.id?.split('/').pop();
}

/** What the bot asked of PIM under one request name, to compare with what Azure holds under that name. */
export interface ExpectedRequest {
  requestType: string;
  principalId: string;
  /** The role definition's GUID, lowercased. */
  roleGuid: string;
  scope: string;
  /** The end asked for; absent for a removal, which has none. */
  endsAt?: number;
}

/** The parts of a schedule request the comparison reads, as the SDK returns them. */
export interface HeldRequest {
  requestType?: string;
  principalId?: string;
  roleDefinitionId?: string;
  scope?: string;
  scheduleInfo?: { expiration?: { endDateTime?: Date } };
}

/**
 * Why the request Azure holds under a name differs from the one the bot would send under it, or undefined when it
 * is the same request. ARM answers a second PUT of a name with 409 `RoleAssignmentRequestExists` instead of
 * replaying it (Azure/bicep-types-az#1431, Azure/bicep#12472), so a retry must read the first back and judge it.
 */
export function requestMismatch(held: HeldRequest, expected: ExpectedRequest): string | undefined {
  if ((held.requestType ?? '').toLowerCase() !== expected.requestType.toLowerCase()) {
    return `it is ${held.requestType ?? 'of no type'}, not ${expected.requestType}`;
  }
  if ((held.principalId ?? '').toLowerCase() !== expected.principalId.toLowerCase()) {
    return `it is for principal ${held.principalId ?? 'none'}`;
  }
  const roleGuid = (held.roleDefinitionId ?? '').split('/').pop()?.toLowerCase();
  if (roleGuid !== expected.roleGuid) return `it is for role ${roleGuid ?? 'none'}`;
  if (!sameScope(held.scope, expected.scope)) return `it is at ${held.scope ?? 'no scope'}`;
  if (expected.endsAt !== undefined) {
    const heldEnd = held.scheduleInfo?.expiration?.endDateTime?.getTime();
    if (!sameScheduleTime(heldEnd, expected.endsAt)) {
      return `it ends ${heldEnd === undefined ? 'never' : new Date(heldEnd).toISOString()}, not ${new Date(expected.endsAt).toISOString()}`;
    }
  }
  return undefined;
}
