/** `kind: role-assignment`: RBAC role assignments the bot creates, reads back and deletes by their derived name. */
import type { AuthorizationManagementClient, RoleAssignment } from '@azure/arm-authorization';
import type { GrantOutcome, GrantSpec } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { description, isoTime } from './artefact-marks';
import { assignmentName } from './assignment-name';
import { type AzureCall, collect } from './azure-call';
import { codeOf, DELETE_ASSIGNMENTS, PROVIDER, READ_ASSIGNMENTS, statusOf, WRITE_ASSIGNMENTS } from './azure-errors';
import { type AzureMemo, alreadyHeld, toMemo } from './azure-memo';
import { type AzureRoleAssignmentTarget, roleDefinitionGuid, roleDefinitionResourceId } from './azure-target';
import { sameScope } from './pim-request';

/**
 * Role assignments named by the GUID derived from the request ID and described `jit <requestId> until <expiry>`.
 * Azure does not end them: the bot's revocation does.
 */
export class RoleAssignments {
  constructor(
    private readonly client: AuthorizationManagementClient,
    private readonly call: AzureCall,
    private readonly logger: Logger,
  ) {}

  async grant(spec: GrantSpec, target: AzureRoleAssignmentTarget, principalId: string): Promise<GrantOutcome> {
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
      if (ours === null) return alreadyHeld(this.logger, spec, target, memo);
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

  async revoke(spec: GrantSpec, target: AzureRoleAssignmentTarget): Promise<void> {
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

  /**
   * True when the access is in place: our assignment, for this principal and role, still describing this grant;
   * or, for a grant that found the role `held` already, any assignment of the role to the principal at the scope.
   */
  async verify(
    spec: GrantSpec,
    target: AzureRoleAssignmentTarget,
    principalId: string,
    held: boolean,
  ): Promise<boolean> {
    if (held) return (await this.standingAssignments(spec, target, principalId)).length > 0;
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
}
