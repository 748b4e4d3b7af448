/**
 * Bundles: one request for several roles at once. The request keeps `roleId` as its first role and lists every
 * role in `bundle`; each role gets its own grant (the first in `grant`, the others in `bundleGrants`), all with
 * one expiry. Each role's own approvers and approval count must be satisfied; grants succeed or fail together.
 */
import { type AccessRequest, type Approval, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { grantSpec } from './grant-spec';
import { findRole, type Policy, type Role } from './policy';
import type { BundleRoleView, GrantSpec } from './ports';

export type { BundleRoleView } from './ports';

/** Most roles one request may bundle: one approval message stays readable, one grant job stays short. */
export const MAX_BUNDLE_ROLES = 10;

/** Every role the request is for, the first being `roleId`; one role for a request that is no bundle. */
export function bundleRoleIds(request: Pick<AccessRequest, 'roleId' | 'bundle'>): readonly string[] {
  return request.bundle !== undefined && request.bundle.length > 0 ? request.bundle : [request.roleId];
}

export function isBundle(request: Pick<AccessRequest, 'bundle'>): boolean {
  return request.bundle !== undefined && request.bundle.length > 1;
}

/**
 * The ID that names the cloud artefact of the bundle's role at `index`: the request ID for the first role (so a
 * one-role request is named as always), `<requestId>0<index>` for the others. New request IDs never contain `0`,
 * so the owner is read back unambiguously by {@link bundleOwnerId}, and `jit-<id>` artefacts of two roles of one
 * request never share a name (two AWS roles of one person would otherwise overwrite one policy).
 */
export function bundlePartId(requestId: string, index: number): string {
  return index === 0 ? requestId : `${requestId}0${index}`;
}

const PART_ID = /^([a-hj-km-np-z2-9]{8})0([1-9][0-9]?)$/;

/** The request that owns a bundle part's artefact ID, with the part's index; undefined for any other ID. */
export function bundleOwnerId(partId: string): { requestId: string; index: number } | undefined {
  const match = PART_ID.exec(partId);
  return match?.[1] !== undefined && match[2] !== undefined
    ? { requestId: match[1], index: Number(match[2]) }
    : undefined;
}

/** The grant record of one role of the request, as stored. */
export function grantRecordOf(request: AccessRequest, roleId: string): GrantRecord | undefined {
  return roleId === request.roleId ? request.grant : request.bundleGrants?.[roleId];
}

/** One role of a request as a provider sees it: its own artefact ID and, once granted, its grant record. */
export interface BundlePart {
  roleId: string;
  index: number;
  partId: string;
  grant?: GrantRecord;
}

export function bundleParts(request: AccessRequest): BundlePart[] {
  return bundleRoleIds(request).map((roleId, index) => {
    const grant = grantRecordOf(request, roleId);
    return { roleId, index, partId: bundlePartId(request.id, index), ...(grant !== undefined && { grant }) };
  });
}

/** What a provider is told about one part of the request (the first part is {@link grantSpec} itself). */
export function partSpec(request: AccessRequest, part: BundlePart, grant: GrantRecord, expiresAt: number): GrantSpec {
  return { ...grantSpec(request, grant, expiresAt), requestId: part.partId, roleId: part.roleId };
}

/** The bundle's roles under the policy, in order; undefined entries for roles gone from it. */
export function bundleRoles(policy: Policy, request: Pick<AccessRequest, 'roleId' | 'bundle'>): (Role | undefined)[] {
  return bundleRoleIds(request).map((roleId) => findRole(policy, roleId));
}

/** True when the approval counts towards `roleId`: an approval names its roles, else it counts for the first. */
export function approvalCountsFor(request: Pick<AccessRequest, 'roleId'>, approval: Approval, roleId: string): boolean {
  return approval.roles !== undefined ? approval.roles.includes(roleId) : roleId === request.roleId;
}

/** Distinct approvals still needed for one role of the request; none when the role was auto-approved in it. */
export function roleApprovalsMissing(request: AccessRequest, role: Role): number {
  const counting = request.approvals.filter((approval) => approvalCountsFor(request, approval, role.id));
  if (counting.some((approval) => approval.userId === SYSTEM_ACTORS.autoApprove)) return 0;
  const distinct = new Set(counting.map((approval) => approval.userId));
  return Math.max(0, role.approvalsRequired - distinct.size);
}

/** Per role of a bundle: the approvals still needed (a role gone from the policy needs one that cannot come). */
export function bundleApprovalsMissing(policy: Policy, request: AccessRequest): { roleId: string; missing: number }[] {
  return bundleRoleIds(request).map((roleId) => {
    const role = findRole(policy, roleId);
    return { roleId, missing: role ? roleApprovalsMissing(request, role) : 1 };
  });
}

/** Every role of a bundle with the approvals it still needs, for the approval message. */
export function bundleView(policy: Policy, request: AccessRequest): BundleRoleView[] {
  return bundleRoleIds(request).map((roleId) => {
    const role = findRole(policy, roleId);
    return role ? { roleId, role, missing: roleApprovalsMissing(request, role) } : { roleId, missing: 1 };
  });
}
