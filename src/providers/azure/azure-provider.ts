import {
  AuthorizationManagementClient,
  type RoleAssignment,
  type RoleAssignmentSchedule,
  type RoleAssignmentScheduleRequest,
} from '@azure/arm-authorization';
import { isRestError, type TlsSettings } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { CloudProviderError } from '../../domain/errors';
import type { Clock, CloudProvider, FoundGrant, GrantOutcome, GrantSpec, RoleTargetRef } from '../../domain/ports';
import { systemClock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import { forEachLimited } from '../for-each-limited';
import {
  type CallRetrySettings,
  DEFAULT_CALL_RETRY,
  isTransientHttpStatus,
  providerError,
  retryTransient,
} from '../retry';
import { assignmentName } from './assignment-name';
import {
  type AzurePimTarget,
  type AzureRoleAssignmentTarget,
  type AzureTarget,
  azureTargetSchema,
  isGuid,
  roleDefinitionGuid,
  roleDefinitionResourceId,
} from './azure-target';
import { GraphDirectory } from './graph-directory';
import {
  canonicalScope,
  normalScope,
  PIM_MINIMUM_ACTIVE_MS,
  requestMismatch,
  requestProgress,
  sameScheduleTime,
  sameScope,
  scheduleName,
  splitRequestId,
} from './pim-request';

const PROVIDER = 'azure';
export const DEFAULT_RESOURCE_MANAGER_ENDPOINT = 'https://management.azure.com';
export const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';
/**
 * `AuthorizationManagementClient` insists on a subscription ID, but every call here is scope-based (the scope
 * carries its own subscription), so this placeholder never reaches a URL.
 */
const UNUSED_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
/** PIM schedule states after which the assignment gives no access; anything else counts as live. */
const ENDED_SCHEDULE_STATES = new Set(['revoked', 'canceled', 'denied', 'failed', 'timedout', 'invalid', 'expired']);
const NETWORK_ERROR_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/** Memo keys this provider stores with a grant and reads back on revoke and verify. */
interface AzureMemo {
  /** The person's Entra object ID, as resolved at grant time. */
  principalId: string;
  kind: AzureTarget['kind'];
  /** `true` when the person already held the role through an assignment the bot did not make. */
  alreadyHeld?: 'true';
  /** Our role assignment's name (role-assignment kind). */
  assignmentName?: string;
}

export type AzureRetrySettings = CallRetrySettings;

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

export interface AzureProviderOptions {
  logger: Logger;
  /** Azure Resource Manager's base URL; sovereign clouds and tests change it. Default https://management.azure.com. */
  resourceManagerEndpoint?: string;
  /** Microsoft Graph's base URL, for email lookups. Default https://graph.microsoft.com. */
  graphEndpoint?: string;
  /** Entra ID's sign-in host for `DefaultAzureCredential`, e.g. https://login.microsoftonline.us. */
  authorityHost?: string;
  /** Replaces `DefaultAzureCredential`: for tests, and for operators who build their own credential. */
  credential?: TokenCredential;
  clock?: Clock;
  /**
   * Replaces the trusted CAs for ARM and Graph calls. Only for tests against a local fake with a self-signed
   * certificate; operators behind a TLS-inspecting proxy use NODE_EXTRA_CA_CERTS instead.
   */
  tlsOptions?: TlsSettings;
  /** In-call retries of throttling and 5xx; tests shorten them. Default 4 attempts, 200 ms base, 2 s cap. */
  retry?: Partial<AzureRetrySettings>;
  /** How long PIM steps wait for PIM to apply their requests; tests poll faster. */
  pimWait?: Partial<PimWaitSettings>;
}

/** What one cloud call is, for logs and for error messages people can act on. */
interface CallContext {
  /** The request the call serves; absent for the sweep, which serves none in particular. */
  requestId?: string;
  /** What the bot was doing, as the end of "while the bot tried to ...". */
  doing: string;
  /** The permission this call needs, named in the message when the bot's identity lacks it. */
  permission: string;
  scope?: string;
  /** How to give the bot that permission; the bot's ARM role by default. */
  remedy?: string;
}

/**
 * Grants Azure roles for a limited time, as an RBAC role assignment (`kind: role-assignment`, ended by the bot)
 * or as a PIM active assignment with an end date (`kind: pim`, ended by Azure itself). Every artefact is named
 * by a GUID derived from the request ID and describes the request and expiry, so a sweep can find it later.
 */
export class AzureProvider implements CloudProvider {
  readonly name = PROVIDER;
  readonly identifiesPeopleByEmail = true;

  private readonly client: AuthorizationManagementClient;
  private readonly directory: GraphDirectory;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly retry: AzureRetrySettings;
  private readonly pimWait: PimWaitSettings;
  /** `sweptKey`s of the kinds, scopes and role definitions the last sweep read in full, for {@link sweeps}. */
  private swept: ReadonlySet<string> = new Set();

  constructor(options: AzureProviderOptions) {
    const resourceManager = withoutTrailingSlash(options.resourceManagerEndpoint ?? DEFAULT_RESOURCE_MANAGER_ENDPOINT);
    const graph = withoutTrailingSlash(options.graphEndpoint ?? DEFAULT_GRAPH_ENDPOINT);
    const credential =
      options.credential ??
      new DefaultAzureCredential(options.authorityHost !== undefined ? { authorityHost: options.authorityHost } : {});
    const tls = options.tlsOptions !== undefined ? { tlsOptions: options.tlsOptions } : {};
    this.client = new AuthorizationManagementClient(credential, UNUSED_SUBSCRIPTION_ID, {
      endpoint: resourceManager,
      // Tokens must be for the ARM endpoint in use: a sovereign cloud rejects tokens for the public one.
      credentialScopes: [`${resourceManager}/.default`],
      // The SDK's own retries are off: retryTransient below retries the whole call with full jitter (honouring
      // Retry-After), so one grant makes a handful of attempts rather than the SDK's 3 times ours.
      retryOptions: { maxRetries: 0 },
      ...tls,
    });
    this.directory = new GraphDirectory({ endpoint: graph, credential, ...tls });
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.retry = { ...DEFAULT_CALL_RETRY, ...options.retry };
    this.pimWait = { ...DEFAULT_PIM_WAIT, ...options.pimWait };
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseTarget(spec);
    const principalId = await this.resolvePrincipal(spec);
    return target.kind === 'pim'
      ? this.grantPim(spec, target, principalId)
      : this.grantRoleAssignment(spec, target, principalId);
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const target = parseTarget(spec);
    const memo = readMemo(spec);
    if (memo.alreadyHeld === 'true') {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope },
        'azure: the role was held through an assignment the bot did not make; nothing to remove',
      );
      return;
    }
    if (target.kind === 'role-assignment') return this.revokeRoleAssignment(spec, target);
    const principalId = memo.principalId ?? (await this.principalForCleanup(spec));
    if (principalId === undefined) return;
    return this.revokePim(spec, target, principalId);
  }

  /** The person held the role through an assignment or schedule the bot did not make; it outlives the grant. */
  async heldBefore(spec: GrantSpec): Promise<boolean> {
    return spec.memo?.alreadyHeld === 'true';
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const target = parseTarget(spec);
    const memo = readMemo(spec);
    const principalId = memo.principalId ?? (await this.resolvePrincipal(spec));
    if (target.kind === 'pim') {
      const schedules = await this.pimSchedules(spec, target, principalId);
      if (memo.alreadyHeld === 'true') return schedules.ours !== undefined || schedules.others.length > 0;
      // PIM moves schedule times by seconds; within that, the schedule ends when the bot asked.
      return sameScheduleTime(schedules.ours?.endDateTime?.getTime(), spec.expiresAt);
    }
    if (memo.alreadyHeld === 'true') return (await this.standingAssignments(spec, target, principalId)).length > 0;
    const name = assignmentName(spec.requestId);
    const assignment = await this.call(
      {
        requestId: spec.requestId,
        doing: 'read its role assignment back',
        permission: READ_ASSIGNMENTS,
        scope: target.scope,
      },
      () => this.client.roleAssignments.get(target.scope, name),
      (error) => (statusOf(error) === 404 ? null : undefined),
    );
    return (
      assignment !== null &&
      assignment.principalId?.toLowerCase() === principalId &&
      roleDefinitionGuid(assignment.roleDefinitionId ?? '') === roleDefinitionGuid(target.roleDefinitionId) &&
      assignment.description === description(spec)
    );
  }

  // ---- role-assignment -----------------------------------------------------------------------------------------

  private async grantRoleAssignment(
    spec: GrantSpec,
    target: AzureRoleAssignmentTarget,
    principalId: string,
  ): Promise<GrantOutcome> {
    const name = assignmentName(spec.requestId);
    const context = {
      requestId: spec.requestId,
      doing: 'create the role assignment',
      permission: WRITE_ASSIGNMENTS,
      scope: target.scope,
    };
    // Granting again PUTs the same name: Azure updates that assignment's description, so the new expiry replaces
    // the old one on the one artefact.
    const created = await this.call(
      context,
      () =>
        this.client.roleAssignments.create(target.scope, name, {
          roleDefinitionId: roleDefinitionResourceId(target),
          principalId,
          principalType: 'User',
          description: description(spec),
        }),
      (error) => (codeOf(error) === 'RoleAssignmentExists' ? null : undefined),
    );
    const memo: AzureMemo = { principalId, kind: 'role-assignment', assignmentName: name };
    if (created === null) {
      // Either someone else's assignment gives the same role, or Azure would not update ours in place.
      const ours = await this.call(
        { ...context, doing: 'read its role assignment back', permission: READ_ASSIGNMENTS },
        () => this.client.roleAssignments.get(target.scope, name),
        (error) => (statusOf(error) === 404 ? null : undefined),
      );
      if (ours === null) return this.alreadyHeld(spec, target, memo);
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, assignmentName: name },
        'azure: role assignment already there and not updated; its end is kept by the bot scheduler',
      );
    } else {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, assignmentName: name, principalId },
        'azure: role assignment in place',
      );
    }
    return {
      memo: toMemo(memo),
      instructions:
        `Azure role \`${roleDefinitionGuid(target.roleDefinitionId)}\` is assigned to you at \`${target.scope}\` until ` +
        `${isoTime(spec.expiresAt)}. Azure can take a few minutes to apply it; sign in again (or \`az login\`) if ` +
        'it does not show yet.',
    };
  }

  private async revokeRoleAssignment(spec: GrantSpec, target: AzureRoleAssignmentTarget): Promise<void> {
    // Deleting by our own derived name can only ever remove the assignment this request made.
    const name = assignmentName(spec.requestId);
    const deleted = await this.call(
      {
        requestId: spec.requestId,
        doing: 'delete the role assignment',
        permission: DELETE_ASSIGNMENTS,
        scope: target.scope,
      },
      () => this.client.roleAssignments.delete(target.scope, name),
      (error) => (statusOf(error) === 404 ? null : undefined),
    );
    this.logger.info(
      {
        provider: PROVIDER,
        requestId: spec.requestId,
        scope: target.scope,
        assignmentName: name,
        alreadyGone: !deleted?.id,
      },
      'azure: role assignment removed',
    );
  }

  private async standingAssignments(
    spec: GrantSpec,
    target: AzureRoleAssignmentTarget,
    principalId: string,
  ): Promise<RoleAssignment[]> {
    const assignments = await this.call(
      { requestId: spec.requestId, doing: 'list role assignments', permission: READ_ASSIGNMENTS, scope: target.scope },
      () =>
        collect(this.client.roleAssignments.listForScope(target.scope, { filter: `principalId eq '${principalId}'` })),
    );
    return assignments.filter(
      (assignment) =>
        sameScope(assignment.scope, target.scope) &&
        roleDefinitionGuid(assignment.roleDefinitionId ?? '') === roleDefinitionGuid(target.roleDefinitionId),
    );
  }

  // ---- pim -----------------------------------------------------------------------------------------------------

  /**
   * A PIM active assignment Azure ends at the expiry. First grant: `AdminAssign`. Granting again with a new expiry
   * changes the same schedule: `AdminExtend` to lengthen it, `AdminUpdate` to shorten it (PIM refuses a second
   * `AdminAssign` for a live assignment). Each request has its own name, derived from the request ID, the type and
   * the expiry, so a replayed grant reuses the name: ARM answers it with `RoleAssignmentRequestExists`, and the
   * request already there is read back and taken as done when it is the same one.
   *
   * PIM applies a request after answering it, so the grant waits (within `pimWait`) until it has. A grant retried
   * while its own request is still on its way finds that request and waits for it, instead of sending a second
   * `AdminAssign` that would find the first one's assignment and take it for someone else's.
   */
  private async grantPim(spec: GrantSpec, target: AzurePimTarget, principalId: string): Promise<GrantOutcome> {
    const memo: AzureMemo = { principalId, kind: 'pim' };
    let schedules = await this.pimSchedules(spec, target, principalId);
    if (schedules.ours === undefined) {
      const pending = await this.pendingRequest(spec, target, principalId);
      if (pending !== undefined) {
        this.logger.info(
          { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, name: pending.name },
          'azure: a PIM request of this grant is still being applied; waiting for it',
        );
        await this.awaitRequest(spec, target, pending);
        schedules = await this.pimSchedules(spec, target, principalId);
      }
    }
    const ours = schedules.ours;
    if (ours === undefined && schedules.others.length > 0) return this.alreadyHeld(spec, target, memo);

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
        assignmentName(spec.requestId, `pim/${requestType}/${isoTime(spec.expiresAt)}`),
        body,
        spec.expiresAt,
      );
      // A live assignment appeared between our read and our request: someone else's, never ours to manage.
      if (sent === 'refused-as-held') return this.alreadyHeld(spec, target, memo);
      if (sent !== 'gone') await this.awaitRequest(spec, target, sent);
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
  private async revokePim(spec: GrantSpec, target: AzurePimTarget, principalId: string): Promise<void> {
    let { ours } = await this.pimSchedules(spec, target, principalId);
    if (ours === undefined) {
      const pending = await this.pendingRequest(spec, target, principalId);
      if (pending !== undefined) {
        await this.awaitRequest(spec, target, pending);
        ({ ours } = await this.pimSchedules(spec, target, principalId));
      }
    }
    if (ours === undefined) {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope },
        'azure: no PIM assignment of this request is live; nothing to remove',
      );
      return;
    }
    const sent = await this.sendRequest(spec, target, assignmentName(spec.requestId, 'pim/AdminRemove'), {
      principalId,
      roleDefinitionId: roleDefinitionResourceId(target),
      requestType: 'AdminRemove',
      justification: justification(spec, target),
    });
    if (sent !== 'gone' && sent !== 'refused-as-held') await this.awaitRequest(spec, target, sent);
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, alreadyGone: sent === 'gone' },
      'azure: PIM assignment removed',
    );
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
   * Polls a schedule request by GET until PIM has applied it, within `pimWait`. PIM provisions after answering the
   * PUT (terraform-provider-azurerm polls for the schedule after creating a request for the same reason).
   * @throws CloudProviderError: retryable when time ran out (the retry finds the request again and waits on),
   *   not retryable when the request ended without applying or waits for an approver.
   */
  private async awaitRequest(
    spec: GrantSpec,
    target: AzurePimTarget,
    request: RoleAssignmentScheduleRequest,
  ): Promise<void> {
    const name = request.name ?? '';
    const scope = request.scope !== undefined ? canonicalScope(request.scope) : target.scope;
    const { timeoutMs, intervalMs, maxIntervalMs } = this.pimWait;
    let current: RoleAssignmentScheduleRequest = request;
    let waitedMs = 0;
    let pauseMs = intervalMs;
    for (;;) {
      const progress = requestProgress(current.status);
      if (progress === 'done') return;
      if (progress === 'needs-approval') {
        throw providerError(
          PROVIDER,
          `PIM is holding the ${current.requestType ?? ''} request ${name}${scopeText(target)} for approval ` +
            `(${current.status ?? ''}): the PIM settings of this role must allow active assignments without ` +
            'approval for the bot to grant it, or use kind: role-assignment.',
          false,
        );
      }
      if (progress === 'failed') {
        throw providerError(
          PROVIDER,
          `PIM ended the ${current.requestType ?? ''} request ${name}${scopeText(target)} as ${current.status ?? ''}` +
            (current.status === 'FailedAsResourceIsLocked'
              ? ': a lock on the resource blocks role changes; remove it and ask again.'
              : ': look at that request in PIM, then ask again.'),
          false,
        );
      }
      if (waitedMs >= timeoutMs) {
        throw providerError(
          PROVIDER,
          `Azure accepted the PIM ${current.requestType ?? ''} request ${name}${scopeText(target)} but has not ` +
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
  private async pimSchedules(
    spec: GrantSpec,
    target: AzurePimTarget,
    principalId: string,
  ): Promise<{ ours?: RoleAssignmentSchedule; others: RoleAssignmentSchedule[] }> {
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
        !ENDED_SCHEDULE_STATES.has((schedule.status ?? '').toLowerCase()) &&
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

  // ---- sweep ---------------------------------------------------------------------------------------------------

  /**
   * The bot's artefacts under the given roles, read from Azure alone, for the reconciler. Each distinct scope is
   * listed once per kind with `atScope()` (what is assigned at or above it, never the many assignments below a
   * subscription), and only what sits at exactly that scope, for one of the roles' role definitions, counts:
   * - role-assignment: an assignment whose description is `jit <requestId> until <expiry>` AND whose name is the
   *   GUID derived from that request ID, so a hand-made assignment with a copied description is never returned;
   * - pim: a live schedule whose originating schedule request has a justification ending in
   *   `jit <requestId> until <expiry>` AND the name the bot gives such a request; the expiry is the schedule's
   *   own end, which Azure enforces.
   *
   * A scope that cannot be read is logged and skipped, so one failing scope hides nothing else; only when every
   * scope failed does it throw (retryable unless every failure was one no retry fixes, such as a missing
   * permission), so the reconciler never mistakes "could not look" for "nothing there".
   */
  async findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    const groups = new Map<string, SweepGroup>();
    for (const role of roles) {
      const parsed = azureTargetSchema.safeParse(role.target);
      if (!parsed.success) {
        this.logger.warn(
          { provider: PROVIDER, roleId: role.roleId },
          'azure: sweep skips a role with an invalid target',
        );
        continue;
      }
      const key = `${parsed.data.kind} ${normalScope(parsed.data.scope)}`;
      const group = groups.get(key) ?? { kind: parsed.data.kind, scope: parsed.data.scope, roles: new Map() };
      const roleGuid = roleDefinitionGuid(parsed.data.roleDefinitionId);
      // Two roles of one role definition at one scope name the same artefacts; the first role stands for both.
      if (!group.roles.has(roleGuid)) group.roles.set(roleGuid, role);
      groups.set(key, group);
    }

    const found: FoundGrant[] = [];
    const failures: { scope: string; error: CloudProviderError }[] = [];
    const swept = new Set<string>();
    await forEachLimited([...groups.values()], SWEEP_CONCURRENCY, async (group) => {
      try {
        found.push(...(group.kind === 'pim' ? await this.findPimGrants(group) : await this.findRoleAssignments(group)));
        for (const roleGuid of group.roles.keys()) swept.add(sweptKey(group.kind, group.scope, roleGuid));
      } catch (error) {
        const classified =
          error instanceof CloudProviderError
            ? error
            : classify(error, { doing: 'sweep its grants', permission: READ_ASSIGNMENTS });
        failures.push({ scope: group.scope, error: classified });
        this.logger.warn(
          {
            provider: PROVIDER,
            kind: group.kind,
            scope: group.scope,
            retryable: classified.retryable,
            reason: classified.message,
          },
          'azure: sweep could not read a scope; the others are still swept',
        );
      }
    });
    this.swept = swept;
    if (groups.size > 0 && failures.length === groups.size) {
      const first = failures[0]?.error;
      throw new CloudProviderError(
        PROVIDER,
        `The sweep could not read any of the ${groups.size} Azure scope(s) it looks at; first: ${first?.message ?? 'unknown'}`,
        failures.some((failure) => failure.error.retryable),
        { cause: first },
      );
    }
    this.logger.info(
      { provider: PROVIDER, scopes: groups.size, failedScopes: failures.length, found: found.length },
      'azure: sweep done',
    );
    return found;
  }

  /**
   * True when the last sweep read the listing this grant's artefact would be in (its kind, scope and role
   * definition), so its absence from that sweep means it is gone. False for a scope the last sweep could not read
   * or did not look at, and for a grant that added nothing because the person already held the role.
   */
  sweeps(spec: GrantSpec): boolean {
    if (spec.memo?.alreadyHeld === 'true') return false;
    const target = azureTargetSchema.safeParse(spec.target).data;
    return (
      target !== undefined &&
      this.swept.has(sweptKey(target.kind, target.scope, roleDefinitionGuid(target.roleDefinitionId)))
    );
  }

  /** The bot's role assignments at exactly one scope, for the group's role definitions. */
  private async findRoleAssignments(group: SweepGroup): Promise<FoundGrant[]> {
    const assignments = await this.call(
      { doing: 'list role assignments for the sweep', permission: READ_ASSIGNMENTS, scope: group.scope },
      () => collect(this.client.roleAssignments.listForScope(group.scope, { filter: 'atScope()' })),
    );
    const found: FoundGrant[] = [];
    for (const assignment of assignments) {
      if (!sameScope(assignment.scope, group.scope)) continue;
      const mark = parseMark(assignment.description, true);
      if (mark === undefined || assignment.name?.toLowerCase() !== assignmentName(mark.requestId)) continue;
      const role = group.roles.get(roleDefinitionGuid(assignment.roleDefinitionId ?? ''));
      const principalId = assignment.principalId?.toLowerCase();
      if (role === undefined || principalId === undefined) continue;
      found.push({
        requestId: mark.requestId,
        ...(mark.expiresAt !== undefined && { expiresAt: mark.expiresAt }),
        spec: this.sweepSpec(role, mark.requestId, principalId, mark.expiresAt, {
          principalId,
          kind: 'role-assignment',
          assignmentName: assignmentName(mark.requestId),
        }),
        description:
          `role assignment ${assignment.name} of role ${roleDefinitionGuid(assignment.roleDefinitionId ?? '')} to ` +
          `principal ${principalId} at ${group.scope}`,
      });
    }
    this.logger.debug(
      { provider: PROVIDER, scope: group.scope, listed: assignments.length, found: found.length },
      'azure: sweep listed role assignments',
    );
    return found;
  }

  /**
   * The bot's live PIM assignments at exactly one scope. Schedules carry no justification, so each candidate's
   * originating request is read (once per request): only schedules at the scope, of one of the group's role
   * definitions, made by a request at that same scope are candidates, since the bot requests at the target scope.
   */
  private async findPimGrants(group: SweepGroup): Promise<FoundGrant[]> {
    const context = { doing: 'list PIM assignments for the sweep', permission: READ_SCHEDULES, scope: group.scope };
    const schedules = await this.call(context, () =>
      collect(this.client.roleAssignmentSchedules.listForScope(group.scope, { filter: 'atScope()' })),
    );
    const requests = new Map<string, RoleAssignmentScheduleRequest | null>();
    const found: FoundGrant[] = [];
    for (const schedule of schedules) {
      const role = group.roles.get(roleDefinitionGuid(schedule.roleDefinitionId ?? ''));
      const origin = splitRequestId(schedule.roleAssignmentScheduleRequestId);
      const principalId = schedule.principalId?.toLowerCase();
      if (
        role === undefined ||
        origin === undefined ||
        principalId === undefined ||
        !sameScope(schedule.scope, group.scope) ||
        !sameScope(origin.scope, group.scope) ||
        ENDED_SCHEDULE_STATES.has((schedule.status ?? '').toLowerCase())
      )
        continue;
      const key = `${normalScope(origin.scope)}/${origin.name.toLowerCase()}`;
      let request = requests.get(key);
      if (request === undefined) {
        request = await this.call(
          { ...context, doing: 'read a PIM request for the sweep', permission: READ_SCHEDULE_REQUESTS },
          () => this.client.roleAssignmentScheduleRequests.get(origin.scope, origin.name),
          (error) => (statusOf(error) === 404 ? null : undefined),
        );
        requests.set(key, request);
      }
      const mark = request === null ? undefined : botRequest(request);
      if (mark === undefined) continue;
      // The schedule's end is what Azure enforces; the justification's is what the bot asked for, the same
      // unless someone changed the schedule since.
      const expiresAt = schedule.endDateTime?.getTime() ?? mark.expiresAt;
      found.push({
        requestId: mark.requestId,
        ...(expiresAt !== undefined && { expiresAt }),
        spec: this.sweepSpec(role, mark.requestId, principalId, expiresAt, { principalId, kind: 'pim' }),
        description:
          `PIM active assignment ${schedule.name ?? ''} of role ${roleDefinitionGuid(schedule.roleDefinitionId ?? '')} ` +
          `to principal ${principalId} at ${group.scope}`,
      });
    }
    this.logger.debug(
      {
        provider: PROVIDER,
        scope: group.scope,
        listed: schedules.length,
        requestsRead: requests.size,
        found: found.length,
      },
      'azure: sweep listed PIM assignments',
    );
    return found;
  }

  /**
   * What `revoke` needs for a found artefact: the role's target, the principal in the memo (so no directory
   * lookup is made) and the request ID, which names the artefact. No Slack user is known from the cloud alone.
   */
  private sweepSpec(
    role: RoleTargetRef,
    requestId: string,
    principalId: string,
    expiresAt: number | undefined,
    memo: AzureMemo,
  ): GrantSpec {
    return {
      requestId,
      roleId: role.roleId,
      target: role.target,
      principal: { slackUserId: '', identities: { azure: principalId } },
      // revoke reads the expiry only to word a PIM removal's justification; without one, the sweep's time.
      expiresAt: expiresAt ?? this.clock.now(),
      memo: toMemo(memo),
    };
  }

  // ---- shared --------------------------------------------------------------------------------------------------

  private alreadyHeld(spec: GrantSpec, target: AzureTarget, memo: AzureMemo): GrantOutcome {
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, scope: target.scope, principalId: memo.principalId },
      'azure: role already held through an assignment the bot did not make; nothing added',
    );
    return {
      memo: toMemo({ principalId: memo.principalId, kind: memo.kind, alreadyHeld: 'true' }),
      instructions:
        `You already hold Azure role \`${roleDefinitionGuid(target.roleDefinitionId)}\` at \`${target.scope}\` ` +
        'through an assignment the bot did not make, so the bot added nothing, and it will not remove that ' +
        'assignment when this request ends.',
    };
  }

  /** The person's Entra object ID: `azure:` in the policy's principals map, else looked up by email in Graph. */
  private async resolvePrincipal(spec: GrantSpec): Promise<string> {
    const mapped = spec.principal.identities.azure;
    if (mapped !== undefined) {
      if (!isGuid(mapped)) {
        throw providerError(
          PROVIDER,
          `The policy file maps this person to azure: ${mapped}, which is not an Entra object ID: set it to the ` +
            "GUID shown as Object ID on the user's page in Entra ID.",
          false,
        );
      }
      return mapped.toLowerCase();
    }
    const email = spec.principal.email;
    if (email === undefined) {
      throw providerError(
        PROVIDER,
        `The bot has no email for <@${spec.principal.slackUserId}> to find them in Entra ID: add ` +
          `azure: <their Entra object ID> under principals.${spec.principal.slackUserId} in the policy file.`,
        false,
      );
    }
    const objectId = await this.call(
      {
        requestId: spec.requestId,
        doing: `look up ${email} in Microsoft Graph`,
        permission: 'the Microsoft Graph application permission User.ReadBasic.All',
        remedy:
          'Grant it that permission with admin consent, or map this person with azure: <object id> under principals.',
      },
      () => this.directory.findUserObjectId(email),
    );
    if (objectId === undefined) {
      throw providerError(
        PROVIDER,
        `Entra ID has no user whose email or user principal name is ${email}: add azure: <their Entra object ID> ` +
          `under principals.${spec.principal.slackUserId} in the policy file.`,
        false,
      );
    }
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, principalId: objectId },
      'azure: found the person in Entra ID',
    );
    return objectId.toLowerCase();
  }

  /**
   * The principal for a revoke that has no memo (cleanup after a failed grant). If the person cannot be found,
   * no grant can have been made for them, so there is nothing to remove.
   */
  private async principalForCleanup(spec: GrantSpec): Promise<string | undefined> {
    try {
      return await this.resolvePrincipal(spec);
    } catch (error) {
      if (error instanceof CloudProviderError && !error.retryable) {
        this.logger.info(
          { provider: PROVIDER, requestId: spec.requestId, reason: error.message },
          'azure: the person cannot be resolved, so nothing was granted to remove',
        );
        return undefined;
      }
      throw error;
    }
  }

  /**
   * Runs one cloud call with in-call retries of throttling and 5xx, then classifies what still fails.
   * `accept` turns an expected failure (e.g. 404 on delete) into a result instead; undefined means "not expected".
   */
  private async call<T, R = never>(
    context: CallContext,
    operation: () => Promise<T>,
    accept?: (error: unknown) => R | undefined,
  ): Promise<T | R> {
    const { attempts, baseMs, capMs } = this.retry;
    let attempt = 0;
    try {
      return await retryTransient(
        async () => {
          attempt += 1;
          try {
            const result = await operation();
            this.logger.debug(
              { provider: PROVIDER, requestId: context.requestId, attempt },
              `azure: ${context.doing}: done`,
            );
            return result;
          } catch (error) {
            const retryAfterMs = retryAfterOf(error);
            if (retryAfterMs !== undefined && attempt < attempts && isTransient(error)) {
              // Azure said how long to wait: wait that long (within our cap) before the jittered backoff.
              const waitMs = Math.min(retryAfterMs, capMs);
              this.logger.info(
                { provider: PROVIDER, requestId: context.requestId, retryAfterMs, waitMs },
                'azure: throttled; waiting as Retry-After asks',
              );
              await new Promise((resolve) => setTimeout(resolve, waitMs));
            }
            throw error;
          }
        },
        {
          attempts,
          baseMs,
          capMs,
          isTransient,
          onRetry: (error, failedAttempt, delayMs) =>
            this.logger.warn(
              {
                provider: PROVIDER,
                requestId: context.requestId,
                status: statusOf(error),
                code: codeOf(error),
                attempt: failedAttempt,
                delayMs,
              },
              `azure: transient failure while trying to ${context.doing}; retrying`,
            ),
        },
      );
    } catch (error) {
      const accepted = accept?.(error);
      if (accepted !== undefined) return accepted;
      const classified = classify(error, context);
      this.logger.warn(
        {
          provider: PROVIDER,
          requestId: context.requestId,
          status: statusOf(error),
          code: codeOf(error),
          retryable: classified.retryable,
        },
        `azure: failed to ${context.doing}`,
      );
      throw classified;
    }
  }
}

/** Builds the provider from the environment's endpoint overrides, with `DefaultAzureCredential`. */
export function createAzureProvider(
  logger: Logger,
  env: { AZURE_RESOURCE_MANAGER_ENDPOINT?: string; AZURE_AUTHORITY_HOST?: string; AZURE_GRAPH_ENDPOINT?: string },
): AzureProvider {
  return new AzureProvider({
    logger,
    ...(env.AZURE_RESOURCE_MANAGER_ENDPOINT !== undefined && {
      resourceManagerEndpoint: env.AZURE_RESOURCE_MANAGER_ENDPOINT,
    }),
    ...(env.AZURE_GRAPH_ENDPOINT !== undefined && { graphEndpoint: env.AZURE_GRAPH_ENDPOINT }),
    ...(env.AZURE_AUTHORITY_HOST !== undefined && { authorityHost: env.AZURE_AUTHORITY_HOST }),
  });
}

const READ_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/read';
const WRITE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/write';
const DELETE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/delete';
const READ_SCHEDULES = 'Microsoft.Authorization/roleAssignmentSchedules/read';
const READ_SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests/read';
const WRITE_SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests/write';

function parseTarget(spec: GrantSpec): AzureTarget {
  const parsed = azureTargetSchema.safeParse(spec.target);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'target'}: ${issue.message}`);
    throw providerError(PROVIDER, `Role ${spec.roleId} has an invalid Azure target (${problems.join('; ')}).`, false);
  }
  return parsed.data;
}

function readMemo(spec: GrantSpec): Partial<AzureMemo> {
  const memo = spec.memo ?? {};
  return {
    ...(memo.principalId !== undefined && { principalId: memo.principalId.toLowerCase() }),
    ...(memo.alreadyHeld === 'true' && { alreadyHeld: 'true' as const }),
  };
}

function toMemo(memo: AzureMemo): Record<string, string> {
  return Object.fromEntries(Object.entries(memo).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The role assignment description: the request and the expiry, so a sweep can find and judge it. */
function description(spec: GrantSpec): string {
  return `jit ${spec.requestId} until ${isoTime(spec.expiresAt)}`;
}

function justification(spec: GrantSpec, target: AzurePimTarget): string {
  const own = `jit ${spec.requestId} until ${isoTime(spec.expiresAt)}`;
  return target.justificationPrefix === undefined ? own : `${target.justificationPrefix} ${own}`;
}

/** The bot's mark: `jit <requestId> until <ISO expiry>`, a whole description or the end of a justification. */
const MARK = /^jit ([a-z0-9]{1,64}) until (\S+)$/;
const MARK_AT_END = /(?:^|\s)jit ([a-z0-9]{1,64}) until (\S+)$/;

/**
 * The request ID and expiry a description (`whole`) or justification (`jit ...` at its end, after any prefix)
 * names, or undefined when it names none. The expiry counts only when it is exactly the ISO form the bot writes,
 * so nothing is guessed from an edited text; the name check that proves the artefact is the bot's is the caller's.
 */
function parseMark(
  text: string | undefined,
  whole: boolean,
): { requestId: string; until: string; expiresAt?: number } | undefined {
  const match = text === undefined ? null : (whole ? MARK : MARK_AT_END).exec(text);
  const requestId = match?.[1];
  const until = match?.[2];
  if (requestId === undefined || until === undefined) return undefined;
  const ms = Date.parse(until);
  const exact = Number.isFinite(ms) && isoTime(ms) === until;
  return exact ? { requestId, until, expiresAt: ms } : { requestId, until };
}

/**
 * The request and expiry of a PIM schedule request the bot made: its justification ends in the bot's mark AND
 * its name is the one the bot derives from that request ID, request type and expiry (see `grantPim`), so a
 * request someone made by hand with a copied justification is never taken for the bot's.
 */
function botRequest(request: RoleAssignmentScheduleRequest): { requestId: string; expiresAt?: number } | undefined {
  const mark = parseMark(request.justification, false);
  if (mark === undefined || request.requestType === undefined) return undefined;
  const expected = assignmentName(mark.requestId, `pim/${request.requestType}/${mark.until}`);
  if (request.name?.toLowerCase() !== expected) return undefined;
  return mark.expiresAt === undefined
    ? { requestId: mark.requestId }
    : { requestId: mark.requestId, expiresAt: mark.expiresAt };
}

/** The roles of one kind at one scope, by role definition GUID: one listing serves them all. */
interface SweepGroup {
  kind: AzureTarget['kind'];
  scope: string;
  roles: Map<string, RoleTargetRef>;
}

/** Scopes swept at once: enough to finish a large policy quickly, few enough not to draw ARM throttling. */
const SWEEP_CONCURRENCY = 4;

function sweptKey(kind: AzureTarget['kind'], scope: string, roleGuid: string): string {
  return `${kind} ${normalScope(scope)} ${roleGuid}`;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
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

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function statusOf(error: unknown): number | undefined {
  if (isRestError(error)) return error.statusCode;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function retryAfterOf(error: unknown): number | undefined {
  if (!isRestError(error)) return undefined;
  const header = error.response?.headers.get('retry-after');
  if (header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Throttling, 5xx and network failures: worth another try soon. Token failures from Entra count by status. */
function isTransient(error: unknown): boolean {
  if (error instanceof CloudProviderError) return false;
  const status = statusOf(error);
  if (status !== undefined) return isTransientHttpStatus(status);
  const code = codeOf(error);
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

/** Turns what a call still failed with into a sentence people can act on, retryable only if time can help. */
function classify(error: unknown, context: CallContext): CloudProviderError {
  if (error instanceof CloudProviderError) return error;
  const name = (error as { name?: unknown } | undefined)?.name;
  const status = statusOf(error);
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const at = context.scope !== undefined ? ` at ${context.scope}` : '';

  if (name === 'CredentialUnavailableError') {
    return providerError(
      PROVIDER,
      'The bot found no Azure credential: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or ' +
        'AZURE_CLIENT_CERTIFICATE_PATH), or run it with a managed or workload identity.',
      false,
      error,
    );
  }
  if (
    name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError' ||
    name === 'AuthenticationRequiredError'
  ) {
    // @azure/identity reports most MSAL failures as AuthenticationRequiredError with only a message; an answer
    // from Entra ID carries an AADSTS code or an OAuth2 error, which no retry changes.
    const refused = /AADSTS\d+|invalid_client|unauthorized_client|invalid_grant|invalid_request/.test(message);
    if (isTransient(error) || (name === 'AuthenticationRequiredError' && !refused)) {
      return providerError(
        PROVIDER,
        'Entra ID could not issue the bot a token just now; the bot will try again.',
        true,
        error,
      );
    }
    return providerError(
      PROVIDER,
      "Entra ID refused the bot's own Azure credential: check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client " +
        'secret or certificate (it may have expired).',
      false,
      error,
    );
  }
  if (isTransient(error)) {
    return providerError(
      PROVIDER,
      `Azure is throttling or failing${status !== undefined ? ` (HTTP ${status})` : ''} while the bot tried to ` +
        `${context.doing}; the bot will try again.`,
      true,
      error,
    );
  }
  if (status === 403 || code === 'AuthorizationFailed' || code === 'Authorization_RequestDenied') {
    const action = /action '([^']+)'/.exec(message)?.[1] ?? context.permission;
    return providerError(
      PROVIDER,
      `The bot's Azure identity is not allowed to ${context.doing}${at}: it needs ${action}. ` +
        (context.remedy ?? "Give it the bot's role from the Azure setup guide at that scope or above."),
      false,
      error,
    );
  }
  if (status === 401) {
    return providerError(
      PROVIDER,
      `Azure did not accept the bot's token (${code ?? 'HTTP 401'}): check that the credential belongs to the ` +
        "subscription's tenant and that the endpoints point at the same cloud.",
      false,
      error,
    );
  }
  switch (code) {
    case 'RoleAssignmentLimitExceeded':
      return providerError(
        PROVIDER,
        `Azure's limit on role assignments is reached${at} (4,000 per subscription): remove unused role ` +
          'assignments, or grant through groups, before trying again.',
        false,
        error,
      );
    case 'PrincipalNotFound':
      return providerError(
        PROVIDER,
        'Entra ID does not know the principal the bot resolved for this person: check azure: <object id> under ' +
          'principals in the policy file (it must be the Object ID of their user). A user created minutes ago may ' +
          'not have replicated yet.',
        false,
        error,
      );
    case 'RoleDefinitionDoesNotExist':
    case 'RoleDefinitionNotFound':
    case 'InvalidRoleDefinitionId':
      return providerError(
        PROVIDER,
        `Azure has no such role definition for${at}: check roleDefinitionId in this role's target in the policy ` +
          'file (a custom role must be assignable at that scope).',
        false,
        error,
      );
    case 'RoleAssignmentRequestPolicyValidationFailed':
      return providerError(
        PROVIDER,
        `The PIM settings of this role${at} refused the assignment (${message}): allow active assignments of ` +
          'this length without approval or MFA in PIM, or use kind: role-assignment.',
        false,
        error,
      );
    default:
      break;
  }
  if (
    status === 404 ||
    code === 'SubscriptionNotFound' ||
    code === 'ResourceGroupNotFound' ||
    code === 'InvalidScope'
  ) {
    return providerError(
      PROVIDER,
      `Azure found no scope${at} (${code ?? 'HTTP 404'}): check the scope in this role's target in the policy file.`,
      false,
      error,
    );
  }
  return providerError(
    PROVIDER,
    `Azure refused to ${context.doing}${at}: ${code !== undefined ? `${code}: ` : ''}${message}`,
    false,
    error,
  );
}
