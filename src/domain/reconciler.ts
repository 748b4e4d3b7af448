import type { AccessRequest } from './access-request';
import { bundleOwnerId, bundleParts, bundleRoleIds, partSpec } from './bundle';
import { REVOKE_JOB_BACKSTOP_MS } from './expiry-reminder';
import type {
  Alerter,
  AuditLog,
  Clock,
  CloudProvider,
  CloudProviders,
  DriftDetails,
  FoundGrant,
  JobScheduler,
  PolicySource,
  RequestStore,
} from './ports';
import { isTerminal } from './request-machine';

export interface ReconcilerDeps {
  store: RequestStore;
  scheduler: JobScheduler;
  clock: Clock;
  policy: PolicySource;
  providers: CloudProviders;
  audit: AuditLog;
  alerter: Alerter;
}

/** An approved request whose grant job should have run by now (a crash between approval and scheduling). */
export const STUCK_APPROVAL_MS = 2 * 60_000;

/** Grants younger than this are not called missing: the cloud's listing may not show them yet. */
export const FRESH_GRANT_GRACE_MS = 60_000;

/** What one sweep found and did; logged and turned into metrics by the job. */
export interface ReconcileReport {
  /** Active grants past their expiry in the store, whose revocation was started now. */
  overdue: number;
  /** The largest of their lateness (now − expiry), in ms. */
  maxOverdueMs: number;
  pendingTimedOut: number;
  grantsRescheduled: number;
  /** Bot artefacts found in the clouds. */
  found: number;
  /** Artefacts revoked straight from the cloud sweep (expired, left behind, or unknown to the store). */
  revokedFromCloud: number;
  /** Disagreements between the store and the clouds, each audited and alerted. */
  drift: number;
  auditTrimmed: number;
  /** Providers whose sweep failed this time, with the error. */
  failures: { provider: string; error: string }[];
}

/**
 * The third way every grant ends. Sweeps the store for grants past their expiry (workers were down, a job was
 * lost) and the clouds for artefacts the bot created, whether or not the store remembers them, so access ends
 * even after Redis lost its data. What does not add up is audited and alerted.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      overdue: 0,
      maxOverdueMs: 0,
      pendingTimedOut: 0,
      grantsRescheduled: 0,
      found: 0,
      revokedFromCloud: 0,
      drift: 0,
      auditTrimmed: 0,
      failures: [],
    };
    await this.sweepStore(report);
    for (const provider of this.deps.providers.list()) {
      try {
        await this.sweepCloud(provider, report);
      } catch (error) {
        report.failures.push({
          provider: provider.name,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const now = this.deps.clock.now();
    report.auditTrimmed = await this.deps.audit.trim(now - this.deps.policy.current().settings.auditRetentionMs);
    return report;
  }

  private async sweepStore(report: ReconcileReport): Promise<void> {
    const { store, scheduler } = this.deps;
    const now = this.deps.clock.now();
    // Grants due more recently are the expiry sweep's, or their own job's at its backstop.
    for (const request of await store.listByState('active', now - REVOKE_JOB_BACKSTOP_MS)) {
      report.overdue += 1;
      report.maxOverdueMs = Math.max(report.maxOverdueMs, now - (request.expiresAt ?? now));
      await scheduler.revokeNow(request.id);
    }
    for (const request of await store.listByState('pending', now)) {
      report.pendingTimedOut += 1;
      await scheduler.scheduleApprovalTimeout(request.id, now);
    }
    for (const request of await store.listByState('approved', now - STUCK_APPROVAL_MS)) {
      report.grantsRescheduled += 1;
      await scheduler.scheduleGrant(request.id, request.startsAt);
    }
  }

  private async sweepCloud(provider: CloudProvider, report: ReconcileReport): Promise<void> {
    if (!provider.findGrants) return;
    const roles = this.deps.policy
      .current()
      .roles.filter((role) => role.provider === provider.name)
      .map((role) => ({ roleId: role.id, target: role.target }));
    if (roles.length === 0) return;
    const listedFrom = this.deps.clock.now();
    const found = await provider.findGrants(roles);
    report.found += found.length;
    const foundIds = new Set(found.map((grant) => grant.requestId));
    for (const grant of found) await this.settleFound(provider, grant, report);

    // Stored grants the sweep should have seen but did not: access people think they have, or a cloud edit.
    const roleIds = new Set(roles.map((role) => role.roleId));
    const now = this.deps.clock.now();
    for (const request of await this.deps.store.listByState('active')) {
      // Each role of a bundle has its own artefact, named by its part ID.
      for (const part of bundleParts(request)) {
        if (!roleIds.has(part.roleId) || foundIds.has(part.partId) || !part.grant) continue;
        if (part.grant.provider !== provider.name || (request.expiresAt ?? 0) <= now) continue;
        // Granted while (or just before) the cloud was listed: the listing may not show it yet.
        if ((request.activatedAt ?? now) >= listedFrom - FRESH_GRANT_GRACE_MS) continue;
        if (provider.sweeps && !provider.sweeps(partSpec(request, part, part.grant, request.expiresAt ?? now)))
          continue;
        await this.drift(report, request.id, {
          situation: 'missing-in-cloud',
          provider: provider.name,
          roleId: part.roleId,
          requesterId: request.requesterId,
        });
      }
    }
  }

  /** Decides what to do with one artefact found in the cloud. */
  private async settleFound(provider: CloudProvider, grant: FoundGrant, report: ReconcileReport): Promise<void> {
    const now = this.deps.clock.now();
    // An artefact of a bundle's second or later role names its part ID; the request is its owner.
    const request = (await this.deps.store.get(grant.requestId)) ?? (await this.bundleOwner(grant.requestId));
    const expiresAt = grant.expiresAt ?? request?.expiresAt;
    if (!request) {
      await this.drift(report, grant.requestId, {
        situation: 'unknown-to-store',
        provider: provider.name,
        description: grant.description,
        ...(expiresAt !== undefined && expiresAt > now && { endsAt: expiresAt }),
      });
      if (expiresAt === undefined || expiresAt <= now)
        await this.revokeFound(provider, grant, report, 'unknown to the store and past its expiry');
      return;
    }
    if (isTerminal(request.state)) {
      await this.drift(report, grant.requestId, {
        situation: 'left-behind',
        provider: provider.name,
        description: grant.description,
        state: request.state,
      });
      await this.revokeFound(provider, grant, report, `left behind after the request was ${request.state}`);
      return;
    }
    // As in the store's sweep: a grant within its backstop is the expiry sweep's or its own job's.
    if (request.state === 'active' && expiresAt !== undefined && expiresAt <= now - REVOKE_JOB_BACKSTOP_MS) {
      await this.deps.scheduler.revokeNow(request.id);
    }
  }

  private async bundleOwner(partId: string): Promise<AccessRequest | undefined> {
    const owner = bundleOwnerId(partId);
    if (!owner) return undefined;
    const request = await this.deps.store.get(owner.requestId);
    return request !== undefined && bundleRoleIds(request).length > owner.index ? request : undefined;
  }

  private async revokeFound(
    provider: CloudProvider,
    grant: FoundGrant,
    report: ReconcileReport,
    why: string,
  ): Promise<void> {
    await provider.revoke(grant.spec);
    report.revokedFromCloud += 1;
    await this.deps.audit.note({
      kind: 'reconciled',
      requestId: grant.requestId,
      actor: 'system:reconciler',
      reason: `revoked ${grant.description}: ${why}`,
      at: this.deps.clock.now(),
    });
  }

  private async drift(report: ReconcileReport, requestId: string, details: DriftDetails): Promise<void> {
    report.drift += 1;
    await this.deps.audit.note({
      kind: 'drift',
      requestId,
      actor: 'system:reconciler',
      reason: driftReason(requestId, details),
      at: this.deps.clock.now(),
    });
    await this.deps.alerter.alert({ kind: 'drift', requestId, details });
  }
}

/** The audit trail's plain-text account of a drift (plain IDs; the admin channel gets the Slack sentence). */
function driftReason(requestId: string, details: DriftDetails): string {
  switch (details.situation) {
    case 'missing-in-cloud':
      return `Request ${requestId} (${details.roleId} for ${details.requesterId}) is active in the store, but ${details.provider} holds no artefact for it: it may have been removed by hand.`;
    case 'unknown-to-store':
      return `${details.provider} holds ${details.description}, made by the bot for request ${requestId}, which the store does not know (was Redis emptied?). ${
        details.endsAt !== undefined
          ? `It ends by itself at ${new Date(details.endsAt).toISOString()} and will be revoked then.`
          : 'It is past its expiry and is being revoked.'
      }`;
    case 'left-behind':
      return `${details.provider} still holds ${details.description} although request ${requestId} is ${details.state}; revoking it.`;
  }
}
