/** A request's deferred life, one facade: activation, failure, time-outs here; extension and ending in their files. */
import { type AccessRequest, type GrantRecord, SYSTEM_ACTORS } from './access-request';
import { approvalReminderAt } from './approval-reminder';
import { isBundle } from './bundle';
import { formatDuration } from './duration';
import { CloudProviderError, isDomainError } from './errors';
import { type ExpiryStretch, type SweepOptions, type SweepReport, sweepExpired } from './expiry-sweep';
import { cleanUpBundle, grantBundle, storedGrants } from './grant-bundle';
import { GrantEnding } from './grant-ending';
import { applyExtension } from './grant-extension';
import type { GrantRefusal } from './grant-refusal';
import { grantSpec } from './grant-spec';
import {
  checkStillAllowed,
  type GrantLifecycleDeps,
  grantRecordFromPolicy,
  type LifecycleOutcome,
  providerFor,
  scheduleRevocationJob,
} from './grant-step';
import { findRole } from './policy';
import { commitChange } from './request-commit';
import { escalatePending } from './request-escalation';
import { transition } from './request-machine';

export type { GrantLifecycleDeps, LifecycleOutcome } from './grant-step';

/**
 * The deferred half of a request's life: grant after approval, end at expiry or on early revocation, time out
 * unanswered requests. Each step re-reads the stored request, so a replayed or duplicated job does nothing twice.
 */
export class GrantLifecycle {
  private readonly ending: GrantEnding;

  constructor(private readonly deps: GrantLifecycleDeps) {
    this.ending = new GrantEnding(deps);
  }

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
    if (request.extends !== undefined) return applyExtension(this.deps, request, request.extends);
    // A grant job that woke before the scheduled start (moved, or rescheduled by the reconciler) waits for it.
    if (request.startsAt !== undefined && this.deps.clock.now() < request.startsAt) {
      return { kind: 'not-due', dueAt: request.startsAt };
    }

    if (isBundle(request)) return this.activateBundle(request);
    await checkStillAllowed(this.deps, request);
    const provider = providerFor(this.deps, request);
    const planned = await grantRecordFromPolicy(this.deps, request, provider);
    const activatedAt = this.deps.clock.now();
    // A scheduled window ends at its start plus the duration, however late the job ran.
    const expiresAt = (request.startsAt ?? activatedAt) + request.durationMs;
    if (expiresAt <= activatedAt) {
      await this.failGrant(
        requestId,
        `its scheduled window (${new Date(request.startsAt ?? activatedAt).toISOString()} for ${formatDuration(request.durationMs)}) had passed before it could be granted`,
      );
      return { kind: 'skipped', why: 'scheduled window passed' };
    }
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
            reason: `granted through ${grant.provider} for ${formatDuration(request.durationMs)}${request.startsAt !== undefined ? ` from its scheduled start ${new Date(request.startsAt).toISOString()}` : ''}`,
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
    if (isBundle(change.after)) {
      try {
        await cleanUpBundle(this.deps, change.after, at);
        return {};
      } catch (cleanupError) {
        return { cleanupError };
      }
    }
    if (!findRole(this.deps.policy.current(), change.after.roleId)) return {};
    try {
      const provider = providerFor(this.deps, change.after);
      const grant = await grantRecordFromPolicy(this.deps, change.after, provider, 'cleanup');
      await provider.revoke(grantSpec(change.after, grant, at));
      return {};
    } catch (cleanupError) {
      return { cleanupError };
    }
  }

  /** Removes an active grant at its expiry, or now when someone asked to end it early. */
  finishAccess(requestId: string): Promise<LifecycleOutcome> {
    return this.ending.finishAccess(requestId);
  }

  /** Ends every grant due in `stretch`: all their cloud calls first, then their records (see `sweepExpired`). */
  sweepExpired(stretch: ExpiryStretch, options: SweepOptions): Promise<SweepReport> {
    return sweepExpired(this.deps, this.ending, stretch, options);
  }

  /**
   * Reads the cloud back once a revocation has propagated. Access still in place (and not covered by another
   * active grant of the same role to the same person) is revoked again and reported to the operators.
   */
  verifyRevoked(requestId: string): Promise<{ accessRemains: boolean }> {
    return this.ending.verifyRevoked(requestId);
  }

  /** Closes a request nobody decided in time. */
  async timeOutPending(requestId: string): Promise<LifecycleOutcome> {
    let waiting: AccessRequest | undefined;
    const at = this.deps.clock.now();
    const change = await commitChange(this.deps.store, requestId, (current) => {
      if (current.state !== 'pending') return undefined;
      if (at < current.approvalDeadline) {
        waiting = current;
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
    if (waiting !== undefined) return this.remindApprovers(waiting, at);
    if (!change) return { kind: 'skipped', why: 'no longer pending' };
    await this.deps.scheduler.scheduleNotice(requestId, 'timed-out', change.after.version);
    return { kind: 'done', request: change.after };
  }

  /**
   * The approval-timeout job woke before the deadline: at the reminder (see {@link approvalReminderAt}) it queues
   * the reminder and sleeps on to the deadline; earlier (a clock adjustment) it sleeps until the reminder. The
   * reminder's job ID carries its time, not the request's version, so a rerun after an approval does not remind again.
   */
  private async remindApprovers(request: AccessRequest, at: number): Promise<LifecycleOutcome> {
    const remindAt = approvalReminderAt(request, this.deps.policy.current().settings.reminderBeforeMs);
    if (at < remindAt) return { kind: 'not-due', dueAt: remindAt };
    await this.deps.scheduler.scheduleReminder(request.id, 'approval-reminder', remindAt, request.version);
    return { kind: 'not-due', dueAt: request.approvalDeadline, reminderQueued: true };
  }

  /** Escalates a request still undecided at its role's `escalateAfter`; see {@link escalatePending}. */
  escalate(requestId: string): Promise<LifecycleOutcome> {
    return escalatePending(this.deps, requestId);
  }

  /** {@link activate} for a bundle: every role granted with one expiry, or none (see {@link grantBundle}). */
  private async activateBundle(request: AccessRequest): Promise<LifecycleOutcome> {
    const activatedAt = this.deps.clock.now();
    const expiresAt = (request.startsAt ?? activatedAt) + request.durationMs;
    if (expiresAt <= activatedAt) {
      await this.failGrant(
        request.id,
        `its scheduled window (${new Date(request.startsAt ?? activatedAt).toISOString()} for ${formatDuration(request.durationMs)}) had passed before it could be granted`,
      );
      return { kind: 'skipped', why: 'scheduled window passed' };
    }
    const granted = await grantBundle(this.deps, request, expiresAt);
    const stored = storedGrants(granted);
    const change = await commitChange(this.deps.store, request.id, (current) =>
      current.state === 'approved'
        ? transition(current, {
            to: 'active',
            actor: SYSTEM_ACTORS.grantJob,
            reason: `granted ${granted.map((each) => `${each.part.roleId} through ${each.grant.provider}`).join(', ')} for ${formatDuration(request.durationMs)}${request.startsAt !== undefined ? ` from its scheduled start ${new Date(request.startsAt).toISOString()}` : ''}`,
            at: activatedAt,
            patch: { activatedAt, expiresAt, ...stored },
          })
        : undefined,
    );
    if (!change) {
      const current = await this.deps.store.get(request.id);
      if (current?.state === 'active') {
        await this.afterActivation(current);
        return { kind: 'skipped', why: 'another run activated it first' };
      }
      for (const each of granted) await each.provider.revoke(each.spec);
      return { kind: 'skipped', why: `request became ${current?.state ?? 'unknown'} while granting` };
    }
    await this.afterActivation(change.after);
    return { kind: 'done', request: change.after };
  }

  /** What follows an activation: the revoke job (which reminds before the expiry and revokes at it) and the notice. */
  private async afterActivation(request: AccessRequest): Promise<void> {
    if (request.expiresAt === undefined) return;
    await scheduleRevocationJob(this.deps, request);
    await this.deps.scheduler.scheduleNotice(request.id, 'activated', request.version);
  }
}
