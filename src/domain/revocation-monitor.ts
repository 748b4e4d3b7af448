import type { Alerter, AuditLog, Clock, IrrevocableGrants, PolicySource } from './ports';

export interface RevocationMonitorDeps {
  alerter: Alerter;
  audit: AuditLog;
  irrevocable: IrrevocableGrants;
  policy: PolicySource;
  clock: Clock;
}

/** After the first alert, remind every this many further failures, so a stuck revocation is not forgotten. */
export const REMIND_EVERY_FAILURES = 20;

/**
 * Watches revocations that fail. The job retries without end; this makes sure people know: after
 * `settings.alertAfter` failed attempts the grant counts as irrevocable (a gauge operators alert on) and the admin
 * channel is told, with a button to retry now; it stops counting once the revocation succeeds.
 */
export class RevocationMonitor {
  constructor(private readonly deps: RevocationMonitorDeps) {}

  /** `attempt` is the number of the attempt that just failed, from 1. */
  async failed(requestId: string, attempt: number, error: unknown): Promise<void> {
    const { alertAfter } = this.deps.policy.current().settings;
    if (attempt < alertAfter) return;
    await this.deps.irrevocable.add(requestId);
    const due = attempt === alertAfter || (attempt - alertAfter) % REMIND_EVERY_FAILURES === 0;
    if (!due) return;
    const errorText = error instanceof Error ? error.message : String(error);
    // The audit trail's plain text; the admin channel gets the Slack layer's sentence.
    const summary = `Revoking access for request ${requestId} has failed ${attempt} times; the bot keeps retrying with backoff. The access stays in place until it succeeds.`;
    await this.deps.audit.note({
      kind: 'alert',
      requestId,
      actor: 'system:revocation',
      reason: `${summary} Last error: ${errorText}`,
      at: this.deps.clock.now(),
    });
    await this.deps.alerter.alert({
      kind: 'revocation-failing',
      requestId,
      details: { attempts: attempt },
      error: errorText,
      retryRevocation: true,
    });
  }

  async succeeded(requestId: string): Promise<void> {
    await this.deps.irrevocable.remove(requestId);
  }
}
