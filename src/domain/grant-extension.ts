/** The extension algorithm: an approved extension moves its active grant's expiry, in the cloud and the store. */
import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { formatDuration } from './duration';
import { CloudProviderError } from './errors';
import { GrantRefused } from './grant-refusal';
import { grantSpec } from './grant-spec';
import {
  checkStillAllowed,
  type GrantLifecycleDeps,
  type LifecycleOutcome,
  roleInForce,
  scheduleExpiryReminder,
} from './grant-step';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/**
 * Lengthens the grant an approved extension names: the same cloud artefact gets the later expiry (so there is
 * no second grant and no gap), then the stored expiry, revocation and reminder move. The cloud is told first:
 * should the grant end meanwhile, what was just extended is taken back, and the extension fails.
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
    await checkStillAllowed(deps, extension);
    const role = roleInForce(deps, extension);
    const totalMs = original.expiresAt - original.activatedAt + extension.durationMs;
    if (totalMs > role.maxDurationMs) {
      throw new GrantRefused({
        code: 'extension_over_max',
        details: { roleId: role.id, totalMs, maxMs: role.maxDurationMs },
      });
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
            patch: { expiresAt, grant, extensionsApplied: [...(current.extensionsApplied ?? []), extension.id] },
          })
        : undefined,
    );
    if (!change) {
      const current = await deps.store.get(extendedId);
      if (current?.state !== 'active' || current.revocationRequestedBy !== undefined) {
        // It ended while the cloud was being told: the artefact must not outlive it.
        await provider.revoke(grantSpec(original, grant, original.expiresAt));
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
  await deps.scheduler.scheduleRevocation(extendedId, expiresAt);
  await scheduleExpiryReminder(deps, extended);
  await deps.scheduler.scheduleNotice(extendedId, 'extended', extended.version);
  if (!applied) return { kind: 'skipped', why: 'another run applied it first' };
  await deps.scheduler.scheduleNotice(extension.id, 'applied', applied.after.version);
  return { kind: 'done', request: applied.after };
}
