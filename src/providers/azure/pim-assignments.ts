/** `kind: pim`: PIM active assignments made by schedule requests, waited for until applied, and replayed safely. */
import type {
  AuthorizationManagementClient,
  RoleAssignmentSchedule,
  RoleAssignmentScheduleRequest,
} from '@azure/arm-authorization';
import { CloudProviderError } from '../../domain/errors';
import type { Clock, GrantOutcome, GrantSpec } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { providerError } from '../retry';
import { botRequest, isoTime, justification, pimRequestName } from './artefact-marks';
import { type AzureCall, collect } from './azure-call';
import {
  codeOf,
  PROVIDER,
  READ_SCHEDULE_REQUESTS,
  READ_SCHEDULES,
  statusOf,
  WRITE_SCHEDULE_REQUESTS,
} from './azure-errors';
import { type AzureMemo, alreadyHeld, toMemo } from './azure-memo';
import { type AzurePimTarget, type AzureTarget, roleDefinitionGuid, roleDefinitionResourceId } from './azure-target';
import {
  PIM_MINIMUM_ACTIVE_MS,
  requestMismatch,
  requestProgress,
  sameScheduleTime,
  sameScope,
  scheduleEnded,
  scheduleName,
  splitRequestId,
} from './pim-request';
import type { PimRequestWait } from './pim-wait';

/** The live PIM schedules of one principal and role at one scope: the one this request made, and everyone else's. */
interface PimSchedules {
  ours?: RoleAssignmentSchedule;
  others: RoleAssignmentSchedule[];
}

/**
 * PIM active assignments with an end date, which Azure itself ends. Each schedule request is named by a GUID
 * derived from the request ID, its type and its expiry, and its justification ends in the bot's mark.
 */
export class PimAssignments {
  constructor(
    private readonly client: AuthorizationManagementClient,
    private readonly call: AzureCall,
    private readonly clock: Clock,
    private readonly wait: PimRequestWait,
    private readonly logger: Logger,
  ) {}

  /**
   * A PIM active assignment Azure ends at the expiry. First grant: `AdminAssign`. Granting again with a new expiry
   * changes the same schedule: `AdminExtend` to lengthen it, `AdminUpdate` to shorten it (PIM refuses a second
   * `AdminAssign` for a live assignment). Each request has its own name, derived from the request ID, the type and
   * the expiry, so a replayed grant reuses the name: ARM answers it with `RoleAssignmentRequestExists`, and the
   * request already there is read back and taken as done when it is the same one.
   *
   * PIM applies a request after answering it, so the grant waits (within `pimWait`, see {@link PimRequestWait})
   * until it has. A grant retried while its own request is still on its way finds that request and waits for it,
   * instead of sending a second `AdminAssign` that would find the first one's assignment and take it for someone
   * else's.
   */
  async grant(spec: GrantSpec, target: AzurePimTarget, principalId: string): Promise<GrantOutcome> {
    const memo: AzureMemo = { principalId, kind: 'pim' };
    let schedules = await this.schedules(spec, target, principalId);
    if (schedules.ours === undefined) {
      const pending = await this.pendingRequest(spec, target, principalId);
      if (pending !== undefined) {
        this.logger.info(
          { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, name: pending.name },
          'azure: a PIM request of this grant is still being applied; waiting for it',
        );
        await this.wait.untilApplied(spec, target, pending);
        schedules = await this.schedules(spec, target, principalId);
      }
    }
    const ours = schedules.ours;
    if (ours === undefined && schedules.others.length > 0) return alreadyHeld(this.logger, spec, target, memo);

    const currentEnd = ours?.endDateTime?.getTime();
    if (ours !== undefined && sameScheduleTime(currentEnd, spec.expiresAt)) {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, scheduleId: ours.id },
        'azure: PIM assignment already ends at the requested time',
      );
    } else {
      const requestType =
        ours === undefined
          ? 'AdminAssign'
          : currentEnd === undefined || spec.expiresAt > currentEnd
            ? 'AdminExtend'
            : 'AdminUpdate';
      const now = this.clock.now();
      if (requestType === 'AdminAssign' && spec.expiresAt - now < PIM_MINIMUM_ACTIVE_MS) throw tooShort(target);
      const targetSchedule = ours === undefined ? undefined : scheduleName(ours);
      const body: RoleAssignmentScheduleRequest = {
        principalId,
        roleDefinitionId: roleDefinitionResourceId(target),
        requestType,
        scheduleInfo: {
          startDateTime: ours?.startDateTime ?? new Date(now),
          expiration: { type: 'AfterDateTime', endDateTime: new Date(spec.expiresAt) },
        },
        justification: justification(spec, target),
        ...(targetSchedule !== undefined && { targetRoleAssignmentScheduleId: targetSchedule }),
      };
      const sent = await this.sendRequest(
        spec,
        target,
        pimRequestName(spec.requestId, requestType, isoTime(spec.expiresAt)),
        body,
        spec.expiresAt,
      );
      // A live assignment appeared between our read and our request: someone else's, never ours to manage.
      if (sent === 'refused-as-held') return alreadyHeld(this.logger, spec, target, memo);
      if (sent !== 'gone') await this.wait.untilApplied(spec, target, sent);
    }
    return {
      memo: toMemo(memo),
      instructions:
        `Azure role \`${roleDefinitionGuid(target.roleDefinitionId)}\` is active for you at \`${target.scope}\` ` +
        `through PIM until ${isoTime(spec.expiresAt)}, when Azure itself ends it. Azure can take a few minutes to ` +
        'apply it; sign in again (or `az login`) if it does not show yet.',
    };
  }

  /**
   * Ends our PIM assignment early with `AdminRemove` and waits until PIM has applied it. Azure refuses removal
   * within 5 minutes of the assignment starting: that is a retryable error, so the revoke job tries again. What
   * already ended is success. A grant of ours still being applied is waited for first, so it cannot appear after
   * the revoke and outlive it.
   */
  async revoke(spec: GrantSpec, target: AzurePimTarget, principalId: string): Promise<void> {
    let { ours } = await this.schedules(spec, target, principalId);
    if (ours === undefined) {
      const pending = await this.pendingRequest(spec, target, principalId);
      if (pending !== undefined) {
        await this.wait.untilApplied(spec, target, pending);
        ({ ours } = await this.schedules(spec, target, principalId));
      }
    }
    if (ours === undefined) {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope },
        'azure: no PIM assignment of this request is live; nothing to remove',
      );
      return;
    }
    const sent = await this.sendRequest(spec, target, pimRequestName(spec.requestId, 'AdminRemove'), {
      principalId,
      roleDefinitionId: roleDefinitionResourceId(target),
      requestType: 'AdminRemove',
      justification: justification(spec, target),
    });
    if (sent !== 'gone' && sent !== 'refused-as-held') await this.wait.untilApplied(spec, target, sent);
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, alreadyGone: sent === 'gone' },
      'azure: PIM assignment removed',
    );
  }

  /**
   * True when the access is in place: our schedule ends when the bot asked (PIM moves schedule times by seconds;
   * within that); or, for a grant that found the role `held` already, any live schedule of the role at the scope.
   */
  async verify(spec: GrantSpec, target: AzurePimTarget, principalId: string, held: boolean): Promise<boolean> {
    const schedules = await this.schedules(spec, target, principalId);
    if (held) return schedules.ours !== undefined || schedules.others.length > 0;
    return sameScheduleTime(schedules.ours?.endDateTime?.getTime(), spec.expiresAt);
  }

  /**
   * PUTs one schedule request under a name the bot derived. A name Azure already holds (a retry of this very
   * request) is read back: the same request is returned as sent, a different one fails without retry. Returns
   * `gone` when a removal finds nothing to remove, `refused-as-held` when an assignment finds one already live.
   */
  private async sendRequest(
    spec: GrantSpec,
    target: AzurePimTarget,
    name: string,
    body: RoleAssignmentScheduleRequest,
    endsAt?: number,
  ): Promise<RoleAssignmentScheduleRequest | 'gone' | 'refused-as-held'> {
    const requestType = body.requestType ?? '';
    const removing = requestType === 'AdminRemove';
    const context = {
      requestId: spec.requestId,
      doing: removing ? 'remove the PIM assignment' : `request the PIM assignment (${requestType})`,
      permission: WRITE_SCHEDULE_REQUESTS,
      scope: target.scope,
    };
    const result = await this.call(
      context,
      () => this.client.roleAssignmentScheduleRequests.create(target.scope, name, body),
      (error): 'exists' | 'gone' | 'refused-as-held' | CloudProviderError | undefined => {
        const code = codeOf(error);
        if (code === 'RoleAssignmentRequestExists') return 'exists';
        if (removing && code === 'RoleAssignmentDoesNotExist') return 'gone';
        if (requestType === 'AdminAssign' && code === 'RoleAssignmentExists') return 'refused-as-held';
        if (code === 'ActiveDurationTooShort') {
          return removing
            ? new CloudProviderError(
                PROVIDER,
                'Azure allows removing a PIM assignment only 5 minutes after it started; the bot keeps trying until ' +
                  'it is removed (Azure also ends it by itself at its expiry).',
                true,
                { cause: error },
              )
            : tooShort(target, error);
        }
        return undefined;
      },
    );
    if (result instanceof CloudProviderError) throw result;
    if (result !== 'exists') {
      if (typeof result !== 'string') {
        this.logger.info(
          {
            provider: PROVIDER,
            requestId: spec.requestId,
            scope: target.scope,
            requestType,
            name,
            status: result.status,
          },
          'azure: PIM request sent',
        );
      }
      return result;
    }
    const held = await this.call(
      { ...context, doing: 'read back a PIM request it had already sent', permission: READ_SCHEDULE_REQUESTS },
      () => this.client.roleAssignmentScheduleRequests.get(target.scope, name),
    );
    const mismatch = requestMismatch(held, {
      requestType,
      principalId: body.principalId ?? '',
      roleGuid: roleDefinitionGuid(target.roleDefinitionId),
      scope: target.scope,
      ...(endsAt !== undefined && { endsAt }),
    });
    if (mismatch !== undefined) {
      throw providerError(
        PROVIDER,
        `Azure already holds a PIM request named ${name} at ${target.scope}, the name the bot gives this request's ` +
          `${requestType}, but ${mismatch}. Someone reused the bot's request name: look at that request in PIM.`,
        false,
      );
    }
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, requestType, name, status: held.status },
      'azure: PIM request was already sent; following it',
    );
    return held;
  }

  /**
   * A request of this grant that PIM has not applied yet (an assignment, extension or update: the ones that make
   * access), found among the principal's schedule requests at the target scope by the bot's mark and name.
   */
  private async pendingRequest(
    spec: GrantSpec,
    target: AzurePimTarget,
    principalId: string,
  ): Promise<RoleAssignmentScheduleRequest | undefined> {
    const requests = await this.call(
      {
        requestId: spec.requestId,
        doing: 'list PIM requests',
        permission: READ_SCHEDULE_REQUESTS,
        scope: target.scope,
      },
      () =>
        collect(
          this.client.roleAssignmentScheduleRequests.listForScope(target.scope, {
            filter: `principalId eq '${principalId}'`,
          }),
        ),
    );
    return requests.find(
      (request) =>
        request.requestType !== 'AdminRemove' &&
        request.principalId?.toLowerCase() === principalId &&
        sameScope(request.scope, target.scope) &&
        roleDefinitionGuid(request.roleDefinitionId ?? '') === roleDefinitionGuid(target.roleDefinitionId) &&
        requestProgress(request.status) === 'pending' &&
        botRequest(request)?.requestId === spec.requestId,
    );
  }

  /**
   * The live PIM schedules for this principal, role and exact scope, split into ours (made by a schedule request
   * whose justification names this request) and everyone else's (standing or other people's assignments).
   */
  private async schedules(spec: GrantSpec, target: AzurePimTarget, principalId: string): Promise<PimSchedules> {
    const context = {
      requestId: spec.requestId,
      doing: 'read PIM assignments',
      permission: READ_SCHEDULES,
      scope: target.scope,
    };
    const all = await this.call(context, () =>
      collect(
        this.client.roleAssignmentSchedules.listForScope(target.scope, { filter: `principalId eq '${principalId}'` }),
      ),
    );
    const now = this.clock.now();
    const live = all.filter(
      (schedule) =>
        schedule.principalId?.toLowerCase() === principalId &&
        sameScope(schedule.scope, target.scope) &&
        roleDefinitionGuid(schedule.roleDefinitionId ?? '') === roleDefinitionGuid(target.roleDefinitionId) &&
        !scheduleEnded(schedule.status) &&
        (schedule.endDateTime === undefined || schedule.endDateTime.getTime() > now),
    );
    let ours: RoleAssignmentSchedule | undefined;
    const others: RoleAssignmentSchedule[] = [];
    for (const schedule of live) {
      const origin = splitRequestId(schedule.roleAssignmentScheduleRequestId);
      const request =
        origin === undefined
          ? null
          : await this.call(
              { ...context, doing: 'read a PIM request', permission: READ_SCHEDULE_REQUESTS },
              () => this.client.roleAssignmentScheduleRequests.get(origin.scope, origin.name),
              (error) => (statusOf(error) === 404 ? null : undefined),
            );
      if (ours === undefined && request !== null && botRequest(request)?.requestId === spec.requestId) ours = schedule;
      else others.push(schedule);
    }
    return ours === undefined ? { others } : { ours, others };
  }
}

function scopeText(target: AzureTarget): string {
  return ` at ${target.scope}`;
}

/** PIM's refusal of an assignment shorter than its minimum, worded for the requester. */
function tooShort(target: AzureTarget, cause?: unknown): CloudProviderError {
  return providerError(
    PROVIDER,
    `PIM assignments last at least 5 minutes, and this one would end sooner${scopeText(target)}: ask for 5 ` +
      'minutes or more.',
    false,
    cause,
  );
}
