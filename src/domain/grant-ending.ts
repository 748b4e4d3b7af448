/** The ending algorithm: revoke at expiry or on request, re-assert overlapping grants, verify the cloud let go. */
import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { bundleParts, partSpec } from './bundle';
import { formatDuration } from './duration';
import { expiryReminderDueNow, revokeJobBackstopAt, revokeJobWakeAt } from './expiry-reminder';
import { asPart } from './grant-bundle';
import { grantSpec } from './grant-spec';
import { type GrantLifecycleDeps, grantRecordFromPolicy, type LifecycleOutcome, providerFor } from './grant-step';
import type { GrantSpec } from './ports';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

/** A grant the cloud has let go of, not yet closed in the store. */
export interface CloudRevocation {
  request: AccessRequest;
  grant: GrantRecord;
  /** When the cloud let go: the ending's time in the store and its audit. */
  endedAt: number;
}

/** Ends active grants and checks afterwards that the access is gone; each step re-reads the stored request. */
export class GrantEnding {
  constructor(private readonly deps: GrantLifecycleDeps) {}

  /**
   * Removes an active grant at its expiry, or now when someone asked to end it early. Woken before the expiry, it
   * sends the expiry reminder when due and reports when to wake next.
   */
  async finishAccess(requestId: string): Promise<LifecycleOutcome> {
    const request = await this.deps.store.get(requestId);
    if (!request) return { kind: 'skipped', why: 'request not found' };
    if (request.state !== 'active') return { kind: 'skipped', why: `request is ${request.state}` };
    const now = this.deps.clock.now();
    const expiresAt = request.expiresAt ?? now;
    if (request.revocationRequestedBy === undefined && now < expiresAt) return this.beforeExpiry(request, now);

    return this.recordEnding(await this.revokeInCloud(request));
  }

  /**
   * The cloud's half of an ending: revokes every role of the grant (a bundle's with its first, at the same
   * expiry). Idempotent, like every provider's revoke, so a rerun after a crash is harmless.
   */
  async revokeInCloud(request: AccessRequest): Promise<CloudRevocation> {
    const expiresAt = request.expiresAt ?? this.deps.clock.now();
    const grant =
      request.grant ?? (await grantRecordFromPolicy(this.deps, request, providerFor(this.deps, request), 'cleanup'));
    await this.deps.providers.get(grant.provider).revoke(grantSpec(request, grant, expiresAt));
    for (const part of bundleParts(request).slice(1)) {
      const view = asPart(request, part.roleId);
      const record =
        part.grant ?? (await grantRecordFromPolicy(this.deps, view, providerFor(this.deps, view), 'cleanup'));
      await this.deps.providers.get(record.provider).revoke(partSpec(request, part, record, expiresAt));
    }
    return { request, grant, endedAt: this.deps.clock.now() };
  }

  /**
   * The store's half, once the cloud let go: re-asserts overlapping grants, closes the request as of when the
   * cloud let go, and queues its notice and the later read-back.
   */
  async recordEnding({ request, grant, endedAt }: CloudRevocation): Promise<LifecycleOutcome> {
    const requestId = request.id;
    const expiresAt = request.expiresAt ?? endedAt;
    // Before the request is closed, so a failure here retries the whole step rather than being forgotten.
    const reasserted = await this.reassertOverlapping(request);

    // Decided first on the copy read above: the cloud call is what takes time, and the compare-and-set catches a
    // change made meanwhile (then it reads again).
    const change = await commitChange(
      this.deps.store,
      requestId,
      (current) => {
        if (current.state !== 'active') return undefined;
        const early = current.revocationRequestedBy;
        return early !== undefined && endedAt < expiresAt
          ? transition(current, {
              to: 'revoked',
              actor: early,
              reason: 'ended early',
              at: endedAt,
              patch: { endedAt, endedBy: early },
            })
          : transition(current, {
              to: 'expired',
              actor: SYSTEM_ACTORS.expiry,
              reason: `expired after ${formatDuration(current.durationMs)}`,
              at: endedAt,
              patch: { endedAt, endedBy: SYSTEM_ACTORS.expiry },
            });
      },
      request,
    );
    if (!change) return { kind: 'skipped', why: 'another run finished it first' };
    const propagationMs = this.deps.policy.current().settings.propagationMs[grant.provider] ?? 0;
    // Independent of each other: queued together, in one round trip.
    await Promise.all([
      this.deps.scheduler.scheduleNotice(
        requestId,
        change.after.state === 'revoked' ? 'revoked' : 'expired',
        change.after.version,
      ),
      this.deps.scheduler.scheduleRevocationCheck(requestId, endedAt + propagationMs),
    ]);
    return {
      kind: 'done',
      request: change.after,
      latenessMs: change.after.state === 'expired' ? endedAt - expiresAt : undefined,
      ...(reasserted.length > 0 && { reasserted }),
    };
  }

  /**
   * The revoke job woke before the expiry: at the expiry reminder, or early. A due reminder is queued as the notice
   * of this request version, so a rerun of the job adds nothing; then the job sleeps until its next wake.
   */
  private async beforeExpiry(request: AccessRequest, now: number): Promise<LifecycleOutcome> {
    const reminderBeforeMs = this.deps.policy.current().settings.reminderBeforeMs;
    const expiresAt = request.expiresAt ?? now;
    if (expiryReminderDueNow(request, now, reminderBeforeMs)) {
      await this.deps.scheduler.scheduleNotice(request.id, 'expiry-reminder', request.version);
      return { kind: 'not-due', dueAt: revokeJobBackstopAt(expiresAt), reminderQueued: true };
    }
    return { kind: 'not-due', dueAt: revokeJobWakeAt(request, now, reminderBeforeMs) ?? expiresAt };
  }

  /**
   * Reads the cloud back once a revocation has propagated. Access still in place (and not covered by another
   * active grant of the same role to the same person) is revoked again and reported to the operators.
   */
  async verifyRevoked(requestId: string): Promise<{ accessRemains: boolean }> {
    const request = await this.deps.store.get(requestId);
    if (!request?.grant || (request.state !== 'expired' && request.state !== 'revoked'))
      return { accessRemains: false };
    if ((await this.overlapping(request)).length > 0) return { accessRemains: false };
    const at = request.expiresAt ?? request.endedAt ?? 0;
    let remains = false;
    for (const part of bundleParts(request)) {
      if (!part.grant) continue;
      remains =
        (await this.verifyPartRevoked(
          request,
          part.roleId,
          partSpec(request, part, part.grant, at),
          part.grant.provider,
        )) || remains;
    }
    return { accessRemains: remains };
  }

  /** Reads one role's artefact back; revokes and reports it when it is still there. */
  private async verifyPartRevoked(
    request: AccessRequest,
    roleId: string,
    spec: GrantSpec,
    providerName: string,
  ): Promise<boolean> {
    const requestId = request.id;
    const provider = this.deps.providers.get(providerName);
    // Access the person held before this grant outlives it by design.
    if (await provider.heldBefore?.(spec)) return false;
    if (!(await provider.verify(spec))) return false;
    await provider.revoke(spec);
    await this.deps.audit.note({
      kind: 'alert',
      requestId,
      actor: 'system:verify',
      reason: `Access of ${request.requesterId} to ${roleId} (request ${request.id}) was still in place in ${provider.name} after its revocation had time to propagate; the bot revoked it again. Check the cloud.`,
      at: this.deps.clock.now(),
    });
    await this.deps.alerter.alert({
      kind: 'access-remains',
      requestId,
      details: { requesterId: request.requesterId, roleId, provider: provider.name },
    });
    return true;
  }

  /** Other active grants of the same role to the same person that outlast `request`. */
  private async overlapping(request: AccessRequest): Promise<AccessRequest[]> {
    const now = this.deps.clock.now();
    const active = await this.deps.store.listByRequester(request.requesterId, ['active']);
    return active.filter(
      (other) =>
        other.id !== request.id &&
        other.roleId === request.roleId &&
        other.grant !== undefined &&
        other.revocationRequestedBy === undefined &&
        (other.expiresAt ?? 0) > now,
    );
  }

  /**
   * When two grants of one role to one person overlap, they may share one cloud artefact (an Azure role
   * assignment, an Identity Center assignment), so revoking the first can take the second's access too. Granting
   * the later ones again right after (idempotent where nothing was lost) keeps access until the last one ends;
   * what the provider now holds for them is stored.
   * @returns the IDs of the grants re-asserted.
   */
  private async reassertOverlapping(ended: AccessRequest): Promise<string[]> {
    const reasserted: string[] = [];
    for (const other of await this.overlapping(ended)) {
      const record = other.grant;
      if (!record || other.expiresAt === undefined) continue;
      const outcome = await this.deps.providers.get(record.provider).grant(grantSpec(other, record, other.expiresAt));
      reasserted.push(other.id);
      if (JSON.stringify(outcome.memo ?? {}) === JSON.stringify(record.memo ?? {})) continue;
      const at = this.deps.clock.now();
      await commitChange(this.deps.store, other.id, (current) =>
        current.state === 'active' && current.grant
          ? transition(current, {
              to: 'active',
              actor: SYSTEM_ACTORS.grantJob,
              reason: `access re-asserted after the overlapping request ${ended.id} ended`,
              at,
              patch: {
                grant: {
                  ...current.grant,
                  ...(outcome.memo !== undefined && { memo: outcome.memo }),
                  ...(outcome.instructions !== undefined && { instructions: outcome.instructions }),
                },
              },
            })
          : undefined,
      );
    }
    return reasserted;
  }
}
