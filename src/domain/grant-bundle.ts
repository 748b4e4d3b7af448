/** Granting a bundle: every role or none; what was granted before a failure is taken back, each audited. */
import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { type BundlePart, bundleParts, partSpec } from './bundle';
import { CloudProviderError } from './errors';
import {
  checkStillAllowed,
  type GrantLifecycleDeps,
  grantRecordFromPolicy,
  providerFor,
  roleInForce,
} from './grant-step';
import type { CloudProvider, GrantSpec } from './ports';

/** One role of a bundle as granted: what the provider was told and what is stored. */
export interface GrantedPart {
  part: BundlePart;
  grant: GrantRecord;
  spec: GrantSpec;
  provider: CloudProvider;
}

/** The request seen as one of its roles, for the steps that read the role from `roleId`. */
export function asPart(request: AccessRequest, roleId: string): AccessRequest {
  return { ...request, roleId };
}

/**
 * Grants every role of the bundle until `expiresAt`, in order. If any role cannot be granted (the policy refuses,
 * the cloud fails, the grant does not read back), the roles already granted are revoked (each revocation in the
 * audit trail) and the error propagates: the job retries or fails the request, which never stays half-granted.
 */
export async function grantBundle(
  deps: GrantLifecycleDeps,
  request: AccessRequest,
  expiresAt: number,
): Promise<GrantedPart[]> {
  const granted: GrantedPart[] = [];
  for (const part of bundleParts(request)) {
    try {
      const view = asPart(request, part.roleId);
      await checkStillAllowed(deps, view);
      const provider = providerFor(deps, view);
      const planned = await grantRecordFromPolicy(deps, view, provider);
      const outcome = await provider.grant(partSpec(request, part, planned, expiresAt));
      const grant: GrantRecord = {
        ...planned,
        ...(outcome.memo !== undefined && { memo: outcome.memo }),
        ...(outcome.instructions !== undefined && { instructions: outcome.instructions }),
      };
      const spec = partSpec(request, part, grant, expiresAt);
      granted.push({ part, grant, spec, provider });
      if (!(await provider.verify(spec))) {
        throw new CloudProviderError(provider.name, 'the grant did not show up when read back from the cloud', true);
      }
    } catch (error) {
      await rollBack(deps, request, granted, part.roleId, error);
      throw error;
    }
  }
  return granted;
}

/** Revokes what a bundle's grant managed before `failedRoleId` failed; each revocation, or its failure, audited. */
async function rollBack(
  deps: GrantLifecycleDeps,
  request: AccessRequest,
  granted: readonly GrantedPart[],
  failedRoleId: string,
  cause: unknown,
): Promise<void> {
  const why = cause instanceof Error ? cause.message : String(cause);
  for (const { part, spec, provider } of [...granted].reverse()) {
    let outcome: string;
    try {
      await provider.revoke(spec);
      outcome = `took back ${part.roleId} (granted through ${provider.name})`;
    } catch (error) {
      // The request's failure (or the next attempt) cleans up every role again; the trail says this one lingered.
      outcome = `could not take back ${part.roleId} (${provider.name}): ${error instanceof Error ? error.message : String(error)}`;
    }
    await deps.audit.note({
      kind: 'rollback',
      requestId: request.id,
      actor: SYSTEM_ACTORS.grantJob,
      reason: `${outcome}: the bundle is granted whole or not at all, and ${failedRoleId} could not be granted: ${why}`,
      at: deps.clock.now(),
    });
  }
}

/**
 * Removes whatever a failed bundle may have left in the clouds, every role, as the policy in force names it.
 * Roles gone from the policy are skipped (the reconciler's sweep finds their artefacts).
 */
export async function cleanUpBundle(deps: GrantLifecycleDeps, request: AccessRequest, at: number): Promise<void> {
  for (const part of bundleParts(request)) {
    const view = asPart(request, part.roleId);
    try {
      roleInForce(deps, view);
    } catch {
      continue;
    }
    const provider = providerFor(deps, view);
    const grant = part.grant ?? (await grantRecordFromPolicy(deps, view, provider, 'cleanup'));
    await provider.revoke(partSpec(request, part, grant, at));
  }
}

/** What the store holds of the granted roles: the first in `grant`, the others in `bundleGrants`. */
export function storedGrants(granted: readonly GrantedPart[]): {
  grant: GrantRecord;
  bundleGrants: Record<string, GrantRecord>;
} {
  const [first, ...others] = granted;
  if (!first) throw new Error('a bundle grants at least one role');
  return {
    grant: first.grant,
    bundleGrants: Object.fromEntries(others.map((each) => [each.part.roleId, each.grant])),
  };
}
