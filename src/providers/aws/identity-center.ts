import { GetUserIdCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  type AccountAssignmentOperationStatus,
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  ListAccountAssignmentsCommand,
  ListInstancesCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import type { GrantOutcome, GrantSpec } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { providerError } from '../retry';
import { awsFailure, isNotFound } from './aws-errors';
import { expiryTimestamp, type IdentityCenterTarget } from './aws-target';

/**
 * Runs one AWS call for a request (undefined for the sweep's listings, which serve no one request), retrying what
 * is transient; rethrows the SDK's own error so callers can treat "not found" as they need before classifying the
 * rest with `awsFailure`.
 */
export type AwsCallRunner = <T>(
  action: string,
  requestId: string | undefined,
  operation: () => Promise<T>,
) => Promise<T>;

/** How long to wait on Identity Center's asynchronous assignment operations. */
export interface StatusPolling {
  intervalMs: number;
  /** Status reads before giving up with a retryable error (the operation goes on in AWS). */
  attempts: number;
}

const PROVIDER = 'aws';

/**
 * Grants a permission set on one account to one identity-store user, and takes it back. Identity Center gives
 * assignments no name, description or expiry: the bot's scheduler and the reconciler's sweep of the store are what
 * end them (they are not swept from the cloud, since nothing there says which are the bot's), and an assignment of
 * that user, permission set and account is taken as the bot's while a request holds it.
 */
export class IdentityCenterAssignments {
  /** Identity store of each instance, from ListInstances, so a target may leave `identityStoreId` out. */
  private readonly storeByInstance = new Map<string, string>();

  constructor(
    private readonly ssoAdmin: SSOAdminClient,
    private readonly identityStore: IdentitystoreClient,
    private readonly run: AwsCallRunner,
    private readonly polling: StatusPolling,
    private readonly logger: Logger,
  ) {}

  async grant(target: IdentityCenterTarget, spec: GrantSpec): Promise<GrantOutcome> {
    const identityStoreId = spec.memo?.identityStoreId ?? (await this.identityStoreOf(target, spec.requestId));
    const email = requireEmail(spec);
    const userId = spec.memo?.userId ?? (await this.findUser(identityStoreId, email, spec.requestId));
    if (userId === undefined) {
      throw providerError(
        PROVIDER,
        `No user with the email ${email} exists in the Identity Center identity store ${identityStoreId}: add them there, or set \`email: <their Identity Center email>\` for this Slack user under \`principals\` in the policy file.`,
        false,
      );
    }

    if (await this.isAssigned(target, userId, spec.requestId)) {
      // A second grant (or a retried job) finds its own assignment: nothing to change, the expiry lives in the bot.
      this.logger.info({ requestId: spec.requestId, userId }, 'identity center assignment already in place');
    } else {
      const created = await this.run('sso:CreateAccountAssignment', spec.requestId, () =>
        this.ssoAdmin.send(new CreateAccountAssignmentCommand(assignmentOf(target, userId))),
      ).catch((error: unknown) => {
        throw awsFailure(error, 'sso:CreateAccountAssignment');
      });
      await this.settle('creation', created.AccountAssignmentCreationStatus, spec.requestId, (requestId) =>
        this.ssoAdmin
          .send(
            new DescribeAccountAssignmentCreationStatusCommand({
              InstanceArn: target.instanceArn,
              AccountAssignmentCreationRequestId: requestId,
            }),
          )
          .then((answer) => answer.AccountAssignmentCreationStatus),
      );
      this.logger.info(
        { requestId: spec.requestId, userId, accountId: target.accountId },
        'identity center assignment created',
      );
    }

    return {
      memo: { userId, identityStoreId },
      instructions: [
        `Sign in through your AWS access portal and choose account \`${target.accountId}\`: the permission set \`${permissionSetId(target)}\` is there until ${expiryTimestamp(spec.expiresAt)} (it can take a minute to appear).`,
        'The bot removes the assignment at expiry; sessions already open end when their own duration runs out.',
      ].join('\n'),
    };
  }

  async revoke(target: IdentityCenterTarget, spec: GrantSpec): Promise<void> {
    const userId = spec.memo?.userId ?? (await this.userForCleanup(target, spec));
    if (userId === undefined) {
      this.logger.info({ requestId: spec.requestId }, 'identity center: no such user, nothing to revoke');
      return;
    }
    if (!(await this.isAssigned(target, userId, spec.requestId))) {
      this.logger.info({ requestId: spec.requestId, userId }, 'identity center assignment already gone');
      return;
    }
    let deleted: { AccountAssignmentDeletionStatus?: AccountAssignmentOperationStatus };
    try {
      deleted = await this.run('sso:DeleteAccountAssignment', spec.requestId, () =>
        this.ssoAdmin.send(new DeleteAccountAssignmentCommand(assignmentOf(target, userId))),
      );
    } catch (error) {
      if (!isNotFound(error)) throw awsFailure(error, 'sso:DeleteAccountAssignment');
      this.logger.info({ requestId: spec.requestId, userId }, 'identity center assignment already gone');
      return;
    }
    await this.settle('deletion', deleted.AccountAssignmentDeletionStatus, spec.requestId, (requestId) =>
      this.ssoAdmin
        .send(
          new DescribeAccountAssignmentDeletionStatusCommand({
            InstanceArn: target.instanceArn,
            AccountAssignmentDeletionRequestId: requestId,
          }),
        )
        .then((answer) => answer.AccountAssignmentDeletionStatus),
    );
    this.logger.info(
      { requestId: spec.requestId, userId, accountId: target.accountId },
      'identity center assignment deleted',
    );
  }

  async verify(target: IdentityCenterTarget, spec: GrantSpec): Promise<boolean> {
    const userId = spec.memo?.userId;
    if (userId === undefined) return false;
    return this.isAssigned(target, userId, spec.requestId);
  }

  /** The user to clean up after a grant that returned no memo; undefined when nothing can have been granted. */
  private async userForCleanup(target: IdentityCenterTarget, spec: GrantSpec): Promise<string | undefined> {
    const email = spec.principal.email;
    if (email === undefined) return undefined;
    return this.findUser(await this.identityStoreOf(target, spec.requestId), email, spec.requestId);
  }

  private async identityStoreOf(target: IdentityCenterTarget, requestId: string): Promise<string> {
    if (target.identityStoreId !== undefined) return target.identityStoreId;
    const known = this.storeByInstance.get(target.instanceArn);
    if (known !== undefined) return known;
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.run('sso:ListInstances', requestId, () =>
        this.ssoAdmin.send(new ListInstancesCommand({ NextToken: token })),
      ).catch((error: unknown) => {
        throw awsFailure(error, 'sso:ListInstances');
      });
      for (const instance of page.Instances ?? []) {
        if (instance.InstanceArn !== undefined && instance.IdentityStoreId !== undefined) {
          this.storeByInstance.set(instance.InstanceArn, instance.IdentityStoreId);
        }
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined && !this.storeByInstance.has(target.instanceArn));
    const found = this.storeByInstance.get(target.instanceArn);
    if (found === undefined) {
      throw providerError(
        PROVIDER,
        `The Identity Center instance ${target.instanceArn} is not visible to the bot: check instanceArn, and set AWS_REGION to the instance's home region (or give identityStoreId in the role's target).`,
        false,
      );
    }
    return found;
  }

  /** The identity-store user ID for an email; undefined when the store has no such user. */
  private async findUser(identityStoreId: string, email: string, requestId: string): Promise<string | undefined> {
    try {
      const answer = await this.run('identitystore:GetUserId', requestId, () =>
        this.identityStore.send(
          new GetUserIdCommand({
            IdentityStoreId: identityStoreId,
            AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: email } },
          }),
        ),
      );
      return answer.UserId;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw awsFailure(error, 'identitystore:GetUserId');
    }
  }

  private async isAssigned(target: IdentityCenterTarget, userId: string, requestId: string): Promise<boolean> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.run('sso:ListAccountAssignments', requestId, () =>
        this.ssoAdmin.send(
          new ListAccountAssignmentsCommand({
            InstanceArn: target.instanceArn,
            AccountId: target.accountId,
            PermissionSetArn: target.permissionSetArn,
            NextToken: token,
          }),
        ),
      ).catch((error: unknown) => {
        throw awsFailure(error, 'sso:ListAccountAssignments');
      });
      const mine = (page.AccountAssignments ?? []).some(
        (assignment) => assignment.PrincipalType === 'USER' && assignment.PrincipalId === userId,
      );
      if (mine) return true;
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return false;
  }

  /**
   * Waits until an assignment operation has finished. FAILED is final (AWS's reason is passed on); still running
   * after the polling budget is retryable, since the operation goes on and the next attempt finds its result.
   */
  private async settle(
    operation: 'creation' | 'deletion',
    first: AccountAssignmentOperationStatus | undefined,
    requestId: string,
    describe: (operationId: string) => Promise<AccountAssignmentOperationStatus | undefined>,
  ): Promise<void> {
    const action = `sso:DescribeAccountAssignment${operation === 'creation' ? 'Creation' : 'Deletion'}Status`;
    let status = first;
    for (let read = 0; ; read += 1) {
      if (status?.Status === 'SUCCEEDED') return;
      if (status?.Status === 'FAILED') {
        throw providerError(
          PROVIDER,
          `AWS Identity Center could not complete the account assignment ${operation}: ${status.FailureReason ?? 'no reason given'}.`,
          false,
        );
      }
      const operationId = status?.RequestId;
      if (operationId === undefined) {
        throw providerError(
          PROVIDER,
          `AWS Identity Center returned no operation ID for the assignment ${operation}.`,
          true,
        );
      }
      if (read >= this.polling.attempts) {
        throw providerError(
          PROVIDER,
          `AWS Identity Center is still working on the account assignment ${operation} (operation ${operationId}); the bot will check again shortly.`,
          true,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.polling.intervalMs));
      status = await this.run(action, requestId, () => describe(operationId)).catch((error: unknown) => {
        throw awsFailure(error, action);
      });
    }
  }
}

/** The assignment's identity: the same fields create, delete and list agree on. */
function assignmentOf(target: IdentityCenterTarget, userId: string) {
  return {
    InstanceArn: target.instanceArn,
    TargetId: target.accountId,
    TargetType: 'AWS_ACCOUNT' as const,
    PermissionSetArn: target.permissionSetArn,
    PrincipalType: 'USER' as const,
    PrincipalId: userId,
  };
}

function permissionSetId(target: IdentityCenterTarget): string {
  return target.permissionSetArn.slice(target.permissionSetArn.lastIndexOf('/') + 1);
}

function requireEmail(spec: GrantSpec): string {
  const email = spec.principal.email;
  if (email === undefined) {
    throw providerError(
      PROVIDER,
      `The bot has no email for Slack user ${spec.principal.slackUserId} to find them in Identity Center: add \`email: <their Identity Center email>\` for them under \`principals\` in the policy file.`,
      false,
    );
  }
  return email;
}
