/** Waiting for PIM to apply a schedule request it has accepted: polled by GET, within a time budget. */
import type { AuthorizationManagementClient, RoleAssignmentScheduleRequest } from '@azure/arm-authorization';
import type { GrantSpec } from '../../domain/ports';
import { providerError } from '../retry';
import type { AzureCall } from './azure-call';
import { PROVIDER, READ_SCHEDULE_REQUESTS, statusOf } from './azure-errors';
import type { AzurePimTarget } from './azure-target';
import { canonicalScope, requestProgress } from './pim-request';

/** How long a PIM grant or revoke waits for PIM to apply its request, polling it by GET. */
export interface PimWaitSettings {
  /** After this long the step fails as retryable; its retry finds the request again and waits on. */
  timeoutMs: number;
  /** The first pause between reads, doubled after each read up to `maxIntervalMs`. */
  intervalMs: number;
  maxIntervalMs: number;
}

/**
 * A minute, read every half second at first and every 5 s at most: PIM usually applies a request within seconds,
 * and a step that waits longer holds a job worker; what is still pending then is picked up by the retry.
 */
export const DEFAULT_PIM_WAIT: Readonly<PimWaitSettings> = { timeoutMs: 60_000, intervalMs: 500, maxIntervalMs: 5_000 };

/** Follows schedule requests until PIM has applied them. */
export class PimRequestWait {
  constructor(
    private readonly client: AuthorizationManagementClient,
    private readonly call: AzureCall,
    private readonly wait: PimWaitSettings,
  ) {}

  /**
   * Polls a schedule request by GET until PIM has applied it, within `pimWait`. PIM provisions after answering the
   * PUT (terraform-provider-azurerm polls for the schedule after creating a request for the same reason). The wait
   * is counted in the pauses slept, not read from the clock, so a test's frozen clock cannot stall it.
   * @throws CloudProviderError: retryable when time ran out (the retry finds the request again and waits on),
   *   not retryable when the request ended without applying or waits for an approver.
   */
  async untilApplied(spec: GrantSpec, target: AzurePimTarget, request: RoleAssignmentScheduleRequest): Promise<void> {
    const name = request.name ?? '';
    const scope = request.scope !== undefined ? canonicalScope(request.scope) : target.scope;
    const { timeoutMs, intervalMs, maxIntervalMs } = this.wait;
    let current: RoleAssignmentScheduleRequest = request;
    let waitedMs = 0;
    let pauseMs = intervalMs;
    for (;;) {
      const progress = requestProgress(current.status);
      if (progress === 'done') return;
      if (progress === 'needs-approval') {
        throw providerError(
          PROVIDER,
          `PIM is holding the ${current.requestType ?? ''} request ${name} at ${target.scope} for approval ` +
            `(${current.status ?? ''}): the PIM settings of this role must allow active assignments without ` +
            'approval for the bot to grant it, or use kind: role-assignment.',
          false,
        );
      }
      if (progress === 'failed') {
        throw providerError(
          PROVIDER,
          `PIM ended the ${current.requestType ?? ''} request ${name} at ${target.scope} as ${current.status ?? ''}` +
            (current.status === 'FailedAsResourceIsLocked'
              ? ': a lock on the resource blocks role changes; remove it and ask again.'
              : ': look at that request in PIM, then ask again.'),
          false,
        );
      }
      if (waitedMs >= timeoutMs) {
        throw providerError(
          PROVIDER,
          `Azure accepted the PIM ${current.requestType ?? ''} request ${name} at ${target.scope} but has not ` +
            `applied it after ${Math.round(waitedMs / 1000)} s (status ${current.status ?? 'unknown'}); the bot ` +
            'checks again on its next try.',
          true,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      waitedMs += pauseMs;
      pauseMs = Math.min(pauseMs * 2, maxIntervalMs);
      const read = await this.call(
        {
          requestId: spec.requestId,
          doing: 'read the state of its PIM request',
          permission: READ_SCHEDULE_REQUESTS,
          scope: target.scope,
        },
        () => this.client.roleAssignmentScheduleRequests.get(scope, name),
        // Just after the PUT a read can miss the request; it is still on its way.
        (error) => (statusOf(error) === 404 ? null : undefined),
      );
      if (read !== null) current = read;
    }
  }
}
