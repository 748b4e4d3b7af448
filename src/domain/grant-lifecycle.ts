import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { mayRequest } from './approvals';
import { emailForGrant } from './cloud-identity';
import { formatDuration } from './duration';
import { CloudProviderError, isDomainError } from './errors';
import { type GrantRefusal, GrantRefused } from './grant-refusal';
import { findRole, type Role } from './policy';
import type {
  Alerter,
  AuditLog,
  Clock,
  CloudProvider,
  CloudProviders,
  GrantSpec,
  JobScheduler,
  PeopleDirectory,
  PolicySource,
  RequestStore,
} from './ports';
import { commitChange } from './request-commit';
import { transition } from './request-machine';

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
  | { kind: 'not-due'; dueAt: number };

/**
 * The deferred half of a request's life: grant after approval, end at expiry or on early revocation, time out
 * unanswered requests. Each step re-reads the stored request, so a replayed or duplicated job does nothing twice.
 */
export class GrantLifecycle {
  constructor(private readonly deps: GrantLifecycleDeps) {}

  /**
   * Grants an approved request in its cloud and starts its clock. Provider errors propagate so the job can retry;
   * when no retry can help the job calls `failGrant`.
   */
  async activate(requestId: string): Promise<LifecycleOutcome> {
    const request = await this.deps.store.get(requestId);
    if (!request) return { kind: 'skipped', why: 'request not found' };
    if (request.state === 'active') {
      // A retried job whose first run stored the grant but died before scheduling what follows.
      await this.afterActivation(request);
      return { kind: 'skipped', why: 'already active' };
    }
    if (request.state !== 'approved') return { kind: 'skipped', why: `request is ${request.state}` };
    if (request.extends !== undefined) return this.applyExtension(request, request.extends);

    await this.checkStillAllowed(request);
    const provider = this.providerFor(request);
    const planned = await this.grantRecordFromPolicy(request, provider);
    const activatedAt = this.deps.clock.now();
    const expiresAt = activatedAt + request.durationMs;
    const outcome = await provider.grant(grantSpec(request, planned, expiresAt));
    const grant: GrantRecord = {
      ...planned,
      ...(outcome.memo !== undefined && { memo: outcome.memo }),
      ...(outcome.instructions !== undefined && { instructions: outcome.instructions }),
    };
    const spec = grantSpec(request, grant, expiresAt);
    if (!(await provider.verify(spec))) {
      throw new CloudProviderError(provider.name, 'the grant did not show up when read back from the cloud', true);
    }

    const change = await commitChange(this.deps.store, requestId, (current) =>
      current.state === 'approved'
        ? transition(current, {
            to: 'active',
            actor: SYSTEM_ACTORS.grantJob,
            reason: `granted through ${grant.provider} for ${formatDuration(request.durationMs)}`,
            at: activatedAt,
            patch: { activatedAt, expiresAt, grant },
          })
        : undefined,
    );
    if (!change) {
      const current = await this.deps.store.get(requestId);
      if (current?.state === 'active') {
        await this.afterActivation(current);
        return { kind: 'skipped', why: 'another run activated it first' };
      }
      // The request was failed meanwhile: take back what this run just granted.
      await provider.revoke(spec);
      return { kind: 'skipped', why: `request became ${current?.state ?? 'unknown'} while granting` };
    }
    await this.afterActivation(change.after);
    return { kind: 'done', request: change.after };
  }

  /**
   * Marks an approved request failed with a reason people can act on, and removes anything a partial grant
   * may have left. `reason` is the plain text kept for the audit trail; a policy refusal is stored with its code
   * and details too, so the Slack layer can write the sentence. Returns the cleanup error, if any, for the job to
   * log; the failure itself is already stored.
   */
  async failGrant(requestId: string, reason: string, refusal?: GrantRefusal): Promise<{ cleanupError?: unknown }> {
    const at = this.deps.clock.now();
    const change = await commitChange(this.deps.store, requestId, (current) =>
      current.state === 'approved'
        ? transition(current, {
            to: 'failed',
            actor: SYSTEM_ACTORS.grantJob,
            reason,
            at,
            patch: { failureReason: reason, ...(refusal !== undefined && { grantRefusal: refusal }) },
          })
        : undefined,
    );
    if (!change) return {};
    await this.deps.scheduler.scheduleNotice(requestId, 'failed', change.after.version);
    // A failed extension granted nothing of its own; the grant it extends keeps its expiry.
    if (change.after.extends !== undefined) return {};
    if (!findRole(this.deps.policy.current(), change.after.roleId)) return {};
    try {
      const provider = this.providerFor(change.after);
      const grant = await this.grantRecordFromPolicy(change.after, provider, 'cleanup');
      await provider.revoke(grantSpec(change.after, grant, at));
      return {};
    } catch (cleanupError) {
      return { cleanupError };
    }
  }

  /** Removes an active grant at its expiry, or now when someone asked to end it early. */
  async finishAccess(requestId: string): Promise<LifecycleOutcome> {
    const request = await this.deps.store.get(requestId);
    if (!request) return { kind: 'skipped', why: 'request not found' };
    if (request.state !== 'active') return { kind: 'skipped', why: `request is ${request.state}` };
    const now = this.deps.clock.now();
    const expiresAt = request.expiresAt ?? now;
    if (request.revocationRequestedBy === undefined && now < expiresAt) return { kind: 'not-due', dueAt: expiresAt };

    const grant = request.grant ?? (await this.grantRecordFromPolicy(request, this.providerFor(request), 'cleanup'));
    await this.deps.providers.get(grant.provider).revoke(grantSpec(request, grant, expiresAt));
    // Before the request is closed, so a failure here retries the whole step rather than being forgotten.
    const reasserted = await this.reassertOverlapping(request);

    const endedAt = this.deps.clock.now();
    const change = await commitChange(this.deps.store, requestId, (current) => {
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
    });
    if (!change) return { kind: 'skipped', why: 'another run finished it first' };
    await this.deps.scheduler.scheduleNotice(
      requestId,
      change.after.state === 'revoked' ? 'revoked' : 'expired',
      change.after.version,
    );
    const propagationMs = this.deps.policy.current().settings.propagationMs[grant.provider] ?? 0;
    await this.deps.scheduler.scheduleRevocationCheck(requestId, endedAt + propagationMs);
    return {
      kind: 'done',
      request: change.after,
      latenessMs: change.after.state === 'expired' ? endedAt - expiresAt : undefined,
      ...(reasserted.length > 0 && { reasserted }),
    };
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
    const provider = this.deps.providers.get(request.grant.provider);
    const spec = grantSpec(request, request.grant, request.expiresAt ?? request.endedAt ?? 0);
    // Access the person held before this grant outlives it by design.
    if (await provider.heldBefore?.(spec)) return { accessRemains: false };
    if (!(await provider.verify(spec))) return { accessRemains: false };
    await provider.revoke(spec);
    await this.deps.audit.note({
      kind: 'alert',
      requestId,
      actor: 'system:verify',
      reason: `Access of ${request.requesterId} to ${request.roleId} (request ${request.id}) was still in place in ${provider.name} after its revocation had time to propagate; the bot revoked it again. Check the cloud.`,
      at: this.deps.clock.now(),
    });
    await this.deps.alerter.alert({
      kind: 'access-remains',
      requestId,
      details: { requesterId: request.requesterId, roleId: request.roleId, provider: provider.name },
    });
    return { accessRemains: true };
  }

  /** Closes a request nobody decided in time. */
  async timeOutPending(requestId: string): Promise<LifecycleOutcome> {
    let dueAt: number | undefined;
    const at = this.deps.clock.now();
    const change = await commitChange(this.deps.store, requestId, (current) => {
      if (current.state !== 'pending') return undefined;
      if (at < current.approvalDeadline) {
        dueAt = current.approvalDeadline;
        return undefined;
      }
      return transition(current, {
        to: 'timed-out',
        actor: SYSTEM_ACTORS.approvalTimeout,
        reason: `no decision within ${formatDuration(current.approvalDeadline - current.createdAt)}`,
        at,
      });
    }).catch((error: unknown) => {
      if (isDomainError(error) && error.code === 'unknown_request') return undefined;
      throw error;
    });
    if (dueAt !== undefined) return { kind: 'not-due', dueAt };
    if (!change) return { kind: 'skipped', why: 'no longer pending' };
    await this.deps.scheduler.scheduleNotice(requestId, 'timed-out', change.after.version);
    return { kind: 'done', request: change.after };
  }

  private async afterActivation(request: AccessRequest): Promise<void> {
    if (request.expiresAt === undefined) return;
    await this.deps.scheduler.scheduleRevocation(request.id, request.expiresAt);
    await this.scheduleExpiryReminder(request);
    await this.deps.scheduler.scheduleNotice(request.id, 'activated', request.version);
  }

  /** The holder is reminded `reminderBefore` ahead of expiry, unless the grant is shorter than that. */
  private async scheduleExpiryReminder(request: AccessRequest): Promise<void> {
    if (request.expiresAt === undefined) return;
    const at = request.expiresAt - this.deps.policy.current().settings.reminderBeforeMs;
    if (at > (request.activatedAt ?? 0) && at > this.deps.clock.now()) {
      await this.deps.scheduler.scheduleReminder(request.id, 'expiry-reminder', at, request.version);
    }
  }

  /**
   * Lengthens the grant an approved extension names: the same cloud artefact gets the later expiry (so there is
   * no second grant and no gap), then the stored expiry, revocation and reminder move. The cloud is told first:
   * should the grant end meanwhile, what was just extended is taken back, and the extension fails.
   */
  private async applyExtension(extension: AccessRequest, extendedId: string): Promise<LifecycleOutcome> {
    const original = await this.deps.store.get(extendedId);
    const ended = () => new GrantRefused({ code: 'extended_access_ended', details: { extendedId } });
    if (!original?.grant || original.expiresAt === undefined || original.activatedAt === undefined) {
      throw ended();
    }
    const alreadyApplied = original.extensionsApplied?.includes(extension.id) ?? false;
    if (!alreadyApplied) {
      if (
        original.state !== 'active' ||
        original.revocationRequestedBy !== undefined ||
        original.expiresAt <= this.deps.clock.now()
      ) {
        throw ended();
      }
      await this.checkStillAllowed(extension);
      const role = this.roleInForce(extension);
      const totalMs = original.expiresAt - original.activatedAt + extension.durationMs;
      if (totalMs > role.maxDurationMs) {
        throw new GrantRefused({
          code: 'extension_over_max',
          details: { roleId: role.id, totalMs, maxMs: role.maxDurationMs },
        });
      }
    }
    const expiresAt = alreadyApplied ? original.expiresAt : original.expiresAt + extension.durationMs;
    const provider = this.deps.providers.get(original.grant.provider);
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

    const at = this.deps.clock.now();
    let extended = original;
    if (!alreadyApplied) {
      const change = await commitChange(this.deps.store, extendedId, (current) =>
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
        const current = await this.deps.store.get(extendedId);
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

    const applied = await commitChange(this.deps.store, extension.id, (current) =>
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
    await this.deps.scheduler.scheduleRevocation(extendedId, expiresAt);
    await this.scheduleExpiryReminder(extended);
    await this.deps.scheduler.scheduleNotice(extendedId, 'extended', extended.version);
    if (!applied) return { kind: 'skipped', why: 'another run applied it first' };
    await this.deps.scheduler.scheduleNotice(extension.id, 'applied', applied.after.version);
    return { kind: 'done', request: applied.after };
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

  /**
   * The policy may have changed since the approval (the role removed, the requester no longer among its
   * requesters): nothing is granted then.
   * @throws GrantRefused (not retryable) `role_removed` or `requester_not_allowed`.
   */
  private async checkStillAllowed(request: AccessRequest): Promise<void> {
    const role = this.roleInForce(request);
    if (!(await mayRequest(role, request.requesterId, this.deps.directory))) {
      throw new GrantRefused({
        code: 'requester_not_allowed',
        details: { requesterId: request.requesterId, roleId: role.id },
      });
    }
  }

  private providerFor(request: AccessRequest): CloudProvider {
    return this.deps.providers.get(this.roleInForce(request).provider);
  }

  /** @throws GrantRefused (not retryable) `role_removed` when the role is gone from the policy. */
  private roleInForce(request: AccessRequest): Role {
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (!role) throw new GrantRefused({ code: 'role_removed', details: { roleId: request.roleId } });
    return role;
  }

  /**
   * What to grant and to whom, from the policy in force: the role's target, the person's mapped identities,
   * and their email when the provider names people by email. For a cleanup, an email the policy does not trust
   * is left out rather than refused: the provider then removes only what it can name without it.
   */
  private async grantRecordFromPolicy(
    request: AccessRequest,
    provider: CloudProvider,
    use: 'grant' | 'cleanup' = 'grant',
  ): Promise<GrantRecord> {
    const role = this.roleInForce(request);
    const policy = this.deps.policy.current();
    const identities = policy.principals[request.requesterId] ?? {};
    const email = await emailForGrant(
      request.requesterId,
      identities,
      provider,
      policy.settings,
      this.deps.directory,
    ).catch((error: unknown) => {
      if (use === 'cleanup' && error instanceof GrantRefused) return undefined;
      throw error;
    });
    return { provider: role.provider, target: role.target, identities, ...(email !== undefined && { email }) };
  }
}

function grantSpec(request: AccessRequest, grant: GrantRecord, expiresAt: number): GrantSpec {
  return {
    requestId: request.id,
    roleId: request.roleId,
    target: grant.target,
    principal: {
      slackUserId: request.requesterId,
      identities: grant.identities,
      ...(grant.email !== undefined && { email: grant.email }),
    },
    expiresAt,
    ...(grant.memo !== undefined && { memo: grant.memo }),
  };
}
