/** The reconciler's sweep of Azure: the bot's role assignments and PIM assignments found from the cloud alone. */
import type { AuthorizationManagementClient, RoleAssignmentScheduleRequest } from '@azure/arm-authorization';
import { CloudProviderError } from '../../domain/errors';
import { forEachLimited } from '../../domain/for-each-limited';
import type { Clock, FoundGrant, GrantSpec, RoleTargetRef } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { botRequest, parseMark } from './artefact-marks';
import { assignmentName } from './assignment-name';
import { type AzureCall, collect } from './azure-call';
import { classify, PROVIDER, READ_ASSIGNMENTS, READ_SCHEDULE_REQUESTS, READ_SCHEDULES, statusOf } from './azure-errors';
import { type AzureMemo, toMemo } from './azure-memo';
import { type AzureTarget, azureTargetSchema, roleDefinitionGuid } from './azure-target';
import { normalScope, sameScope, scheduleEnded, splitRequestId } from './pim-request';

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

/** Finds the bot's Azure artefacts by their marks, and remembers which listings the last sweep read in full. */
export class AzureGrantSweep {
  /** `sweptKey`s of the kinds, scopes and role definitions the last sweep read in full, for {@link sweeps}. */
  private swept: ReadonlySet<string> = new Set();

  constructor(
    private readonly client: AuthorizationManagementClient,
    private readonly call: AzureCall,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

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
        scheduleEnded(schedule.status)
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
}
