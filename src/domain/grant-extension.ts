/** The extension algorithm: an approved extension moves its active grant's expiry, in the cloud and the store. */
import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { bundleParts, bundleRoleIds, partSpec } from './bundle';
import { formatDuration } from './duration';
import { CloudProviderError } from './errors';
import { asPart } from './grant-bundle';
import { GrantRefused } from './grant-refusal';
import { grantSpec } from './grant-spec';
import {
  checkStillAllowed,
  type GrantLifecycleDeps,
  type LifecycleOutcome,
  roleInForce,
  scheduleRevocationJob,
} from './grant-step';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/**
 * Lengthens the grant an approved extension names: the same cloud artefact gets the later expiry (so there is
 * no second grant and no gap), then the stored expiry and the revoke job (which also reminds) move. The cloud is
 * told first: should the grant end meanwhile, what was just extended is taken back, and the extension fails.
 * @throws GrantRefused (not retryable) when the grant ended, the policy no longer allows it, or it would run
 * over the role's maximum; CloudProviderError from the provider.
 */
export async function applyExtension(
  deps: GrantLifecycleDeps,
  extension: AccessRequest,
  extendedId: string,
): Promise<LifecycleOutcome> {
  const original = await deps.store.get(extendedId);
  const ended = () => new GrantRefused({ code: 'extended_access_ended', details: { extendedId } });
  if (!original?.grant || original.expiresAt === undefined || original.activatedAt === undefined) {
    throw ended();
  }
  const alreadyApplied = original.extensionsApplied?.includes(extension.id) ?? false;
  if (!alreadyApplied) {
    if (
      original.state !== 'active' ||
      original.revocationRequestedBy !== undefined ||
      original.expiresAt <= deps.clock.now()
    ) {
      throw ended();
    }
    // A bundle is extended whole: every role still allowed, and none over its own maximum.
    for (const roleId of bundleRoleIds(original)) {
      await checkStillAllowed(deps, asPart(extension, roleId));
      const role = roleInForce(deps, asPart(extension, roleId));
      const totalMs = original.expiresAt - original.activatedAt + extension.durationMs;
      if (totalMs > role.maxDurationMs) {
        throw new GrantRefused({
          code: 'extension_over_max',
          details: { roleId: role.id, totalMs, maxMs: role.maxDurationMs },
        });
      }
    }
  }
  const expiresAt = alreadyApplied ? original.expiresAt : original.expiresAt + extension.durationMs;
  const provider = deps.providers.get(original.grant.provider);
  const outcome = await provider.grant(grantSpec(original, original.grant, expiresAt));
  const grant: GrantRecord = {
    ...original.grant,
    ...(outcome.memo !== undefined && { memo: outcome.memo }),
    ...(outcome.instructions !== undefined && { instructions: outcome.instructions }),
  };
  if (!(await provider.verify(grantSpec(original, grant, expiresAt)))) {
    throw new CloudProviderError(
      provider.name,
      'the extended grant did not show up when read back from the cloud',
      true,
    );
  }
  // A bundle's other roles get the same later expiry on their own artefacts.
  const bundleGrants: Record<string, GrantRecord> = {};
  for (const part of bundleParts(original).slice(1)) {
    if (!part.grant) continue;
    const partProvider = deps.providers.get(part.grant.provider);
    const partOutcome = await partProvider.grant(partSpec(original, part, part.grant, expiresAt));
    const partGrant: GrantRecord = {
      ...part.grant,
      ...(partOutcome.memo !== undefined && { memo: partOutcome.memo }),
      ...(partOutcome.instructions !== undefined && { instructions: partOutcome.instructions }),
    };
    if (!(await partProvider.verify(partSpec(original, part, partGrant, expiresAt)))) {
      throw new CloudProviderError(
        partProvider.name,
        `the extended grant of ${part.roleId} did not show up when read back from the cloud`,
        true,
      );
    }
    bundleGrants[part.roleId] = partGrant;
  }
  const hasBundle = Object.keys(bundleGrants).length > 0;

  const at = deps.clock.now();
  let extended = original;
  if (!alreadyApplied) {
    const change = await commitChange(deps.store, extendedId, (current) =>
      current.state === 'active' &&
      current.revocationRequestedBy === undefined &&
      current.expiresAt === original.expiresAt
        ? transition(current, {
            to: 'active',
            actor: extension.decidedBy ?? SYSTEM_ACTORS.grantJob,
            reason: `extended by ${formatDuration(extension.durationMs)} (request ${extension.id})`,
            at,
            patch: {
              expiresAt,
              grant,
              ...(hasBundle && { bundleGrants }),
              extensionsApplied: [...(current.extensionsApplied ?? []), extension.id],
            },
          })
        : undefined,
    );
    if (!change) {
      const current = await deps.store.get(extendedId);
      if (current?.state !== 'active' || current.revocationRequestedBy !== undefined) {
        // It ended while the cloud was being told: the artefacts must not outlive it.
        await provider.revoke(grantSpec(original, grant, original.expiresAt));
        for (const part of bundleParts(original).slice(1)) {
          const record = bundleGrants[part.roleId] ?? part.grant;
          if (record)
            await deps.providers.get(record.provider).revoke(partSpec(original, part, record, original.expiresAt));
        }
        throw ended();
      }
      // Another change of its expiry got there first (a second extension): decide again on a fresh read.
      throw new GrantRefused({ code: 'extended_request_changed', details: { extendedId } });
    }
    extended = change.after;
  }

  const applied = await commitChange(deps.store, extension.id, (current) =>
    current.state === 'approved'
      ? transition(current, {
          to: 'applied',
          actor: SYSTEM_ACTORS.grantJob,
          reason: `added ${formatDuration(extension.durationMs)} to request ${extendedId}`,
          at,
          patch: { activatedAt: at, expiresAt },
        })
      : undefined,
  );
  await scheduleRevocationJob(deps, extended);
  await deps.scheduler.scheduleNotice(extendedId, 'extended', extended.version);
  if (!applied) return { kind: 'skipped', why: 'another run applied it first' };
  await deps.scheduler.scheduleNotice(extension.id, 'applied', applied.after.version);
  return { kind: 'done', request: applied.after };
}
