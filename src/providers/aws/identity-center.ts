// Over 400 lines on purpose: grant, revoke and verify share one checkpointed record of who held the assignment.
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
import type { GrantCheckpoints, GrantOutcome, GrantSpec, OperationSlotPool } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { OperationSlots } from '../operation-slots';
import { providerError } from '../retry';
import { awsErrorCode, awsFailure, isNotFound } from './aws-errors';
import { expiryTimestamp, type IdentityCenterTarget } from './aws-target';
import { fromCheckpoint, type HolderRecord, sameRecord, toCheckpoint } from './identity-center-holder';

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
 * Account assignment operations (creations and deletions) this process lets run at once, from the call until its
 * status is read final. "The CreateAccountAssignment has a maximum rate of 10 outstanding async calls. These quotas
 * cannot be changed" (IAM Identity Center User Guide, "IAM Identity Center quotas", throttle limits; IAM's account
 * access manager states 15 for its own API, the smaller is kept). Counted per Identity Center instance across every
 * bot process sharing the Redis (see docs/clouds/aws.md).
 */
export const MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY = 10;

/**
 * Grants a permission set on one account to one identity-store user, and takes it back. Identity Center gives
 * assignments no name, description, tag or expiry, so nothing in AWS says which are the bot's: the bot's scheduler
 * and the reconciler's sweep of the store end them (they are never swept from the cloud).
 *
 * An assignment already there when a request is first granted is the person's own (or another of their requests'):
 * the grant records "already held" and its end leaves the assignment alone. Because a retried grant would find the
 * assignment an earlier attempt made, who holds it is written to the request's checkpoint *before*
 * CreateAccountAssignment is sent, and every later grant, revoke and verify of that request reads it from there.
 */
export class IdentityCenterAssignments {
  /** Identity store of each instance, from ListInstances, so a target may leave `identityStoreId` out. */
  private readonly storeByInstance = new Map<string, string>();
  /**
   * This process's operations wait here in order for their turn at the shared slots, so at most the limit of them
   * poll the pool at once.
   */
  private readonly operations = new OperationSlots(MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY);

  constructor(
    private readonly ssoAdmin: SSOAdminClient,
    private readonly identityStore: IdentitystoreClient,
    private readonly run: AwsCallRunner,
    private readonly polling: StatusPolling,
    private readonly checkpoints: GrantCheckpoints,
    /** The instance's operation slots, shared by every process. */
    private readonly slots: OperationSlotPool,
    private readonly logger: Logger,
  ) {}

  /** Runs one account assignment operation, from its call until its status is final, in one of the slots. */
  private underWay<T>(target: IdentityCenterTarget, operation: () => Promise<T>): Promise<T> {
    return this.operations.use(() =>
      this.slots.use(`aws-identity-center:${target.instanceArn}`, MAX_ASSIGNMENT_OPERATIONS_UNDER_WAY, operation),
    );
  }

  /**
   * Assigns the permission set unless the person holds it already. A request first granted while the assignment
   * exists records it as standing; once the assignment is gone (the grant it came from ended), granting again
   * creates it and from then on counts it as this request's own, so overlapping grants keep access until the last
   * one ends and only the bot's own assignment is ever deleted.
   */
  async grant(target: IdentityCenterTarget, spec: GrantSpec): Promise<GrantOutcome> {
    const { record: recorded, checkpointed } = await this.holderOf(target, spec);
    const identityStoreId =
      recorded?.identityStoreId ?? spec.memo?.identityStoreId ?? (await this.identityStoreOf(target, spec.requestId));
    const userId = recorded?.userId ?? (await this.requireUser(identityStoreId, spec));
    const present = await this.isAssigned(target, userId, spec.requestId);
    // Only an assignment found before this request ever made one is someone else's; one the request recorded as
    // its own stays its own, even when a retry finds it already made.
    const holder = present && recorded?.holder !== 'bot' ? 'standing' : 'bot';
    const record: HolderRecord = {
      holder,
      userId,
      identityStoreId,
      accountId: target.accountId,
      permissionSetArn: target.permissionSetArn,
    };
    if (!checkpointed || !sameRecord(recorded, record)) {
      await this.checkpoints.set(spec.requestId, toCheckpoint(record));
    }

    const context = { requestId: spec.requestId, userId, accountId: target.accountId };
    if (holder === 'standing') {
      this.logger.info(context, 'identity center: the person already holds this assignment; this request adds nothing');
      return {
        memo: { userId, identityStoreId, alreadyHeld: 'true' },
        instructions: [
          `You already hold the permission set \`${permissionSetId(target)}\` on account \`${target.accountId}\` (a standing assignment, or another of your requests), so this request added nothing and its end will not remove that assignment.`,
          `If it came from another of your requests, the bot assigns it again when that one ends, until ${expiryTimestamp(spec.expiresAt)}.`,
        ].join('\n'),
      };
    }
    if (present) {
      // A retried job, or a later grant of the same request, finds what it made: the expiry lives in the bot.
      this.logger.info(context, 'identity center assignment already in place');
    } else {
      await this.underWay(target, () => this.create(target, userId, spec.requestId));
      this.logger.info(context, 'identity center assignment created');
    }
    return {
      memo: { userId, identityStoreId },
      instructions: [
        `Sign in through your AWS access portal and choose account \`${target.accountId}\`: the permission set \`${permissionSetId(target)}\` is there until ${expiryTimestamp(spec.expiresAt)} (it can take a minute to appear).`,
        'The bot removes the assignment at expiry; sessions already open end when their own duration runs out.',
      ].join('\n'),
    };
  }

  /**
   * Deletes the assignment only when this request recorded it as its own. Nothing recorded means no grant of the
   * request got as far as creating anything (cleanup after a refused grant), so nothing is looked up or deleted.
   */
  async revoke(target: IdentityCenterTarget, spec: GrantSpec): Promise<void> {
    const recorded = await this.recorded(target, spec);
    if (recorded === undefined) {
      this.logger.info({ requestId: spec.requestId }, 'identity center: this request made no assignment to revoke');
      return;
    }
    const { userId } = recorded;
    if (recorded.holder === 'standing') {
      this.logger.info(
        { requestId: spec.requestId, userId, accountId: target.accountId },
        'identity center: the assignment was held before this request; left in place',
      );
      return;
    }
    if (!(await this.isAssigned(target, userId, spec.requestId))) {
      this.logger.info({ requestId: spec.requestId, userId }, 'identity center assignment already gone');
      return;
    }
    const deleted = await this.underWay(target, () => this.deleteAssignment(target, userId, spec.requestId));
    if (deleted) {
      this.logger.info(
        { requestId: spec.requestId, userId, accountId: target.accountId },
        'identity center assignment deleted',
      );
    } else {
      this.logger.info({ requestId: spec.requestId, userId }, 'identity center assignment already gone');
    }
  }

  /** Deletes the assignment and waits until AWS has: false when it was gone already. */
  private async deleteAssignment(target: IdentityCenterTarget, userId: string, requestId: string): Promise<boolean> {
    let deleted: { AccountAssignmentDeletionStatus?: AccountAssignmentOperationStatus };
    try {
      deleted = await this.run('sso:DeleteAccountAssignment', requestId, () =>
        this.ssoAdmin.send(new DeleteAccountAssignmentCommand(assignmentOf(target, userId))),
      );
    } catch (error) {
      if (!isNotFound(error)) throw awsFailure(error, 'sso:DeleteAccountAssignment');
      return false;
    }
    await this.settle('deletion', deleted.AccountAssignmentDeletionStatus, requestId, (operationId) =>
      this.ssoAdmin
        .send(
          new DescribeAccountAssignmentDeletionStatusCommand({
            InstanceArn: target.instanceArn,
            AccountAssignmentDeletionRequestId: operationId,
          }),
        )
        .then((answer) => answer.AccountAssignmentDeletionStatus),
    );
    return true;
  }

  /** True when the assignment exists, whoever holds it: either way the person has the access. */
  async verify(target: IdentityCenterTarget, spec: GrantSpec): Promise<boolean> {
    const userId = (await this.recorded(target, spec))?.userId;
    if (userId === undefined) return false;
    return this.isAssigned(target, userId, spec.requestId);
  }

  /** True when the request recorded the assignment as held before it, so its end leaves it in place. */
  async heldBefore(target: IdentityCenterTarget, spec: GrantSpec): Promise<boolean> {
    return (await this.recorded(target, spec))?.holder === 'standing';
  }

  /**
   * Who holds the request's assignment: its checkpoint, else the memo stored with the request (written only after
   * a grant succeeded, so it agrees with the checkpoint unless that expired or a re-grant's memo was never stored).
   * The checkpoint wins: it is written before the cloud changes, the memo after.
   */
  private async recorded(target: IdentityCenterTarget, spec: GrantSpec): Promise<HolderRecord | undefined> {
    return (await this.holderOf(target, spec)).record;
  }

  /** {@link recorded}, and whether it came from the checkpoint. */
  private async holderOf(
    target: IdentityCenterTarget,
    spec: GrantSpec,
  ): Promise<{ record?: HolderRecord; checkpointed: boolean }> {
    const stored = await this.checkpoints.get(spec.requestId);
    const checkpoint = fromCheckpoint(stored);
    if (stored !== undefined && checkpoint === undefined) {
      throw providerError(
        PROVIDER,
        `The bot's checkpoint for request ${spec.requestId} is not an Identity Center one, so the bot cannot tell whether the assignment is its own; nothing was changed. Check the request's provider and role.`,
        false,
      );
    }
    if (checkpoint !== undefined) {
      if (checkpoint.accountId === target.accountId && checkpoint.permissionSetArn === target.permissionSetArn) {
        return { record: checkpoint, checkpointed: true };
      }
      // The role's target changed between two attempts: the record is about another assignment.
      this.logger.warn(
        {
          requestId: spec.requestId,
          recordedAccountId: checkpoint.accountId,
          recordedPermissionSetArn: checkpoint.permissionSetArn,
          recordedHolder: checkpoint.holder,
        },
        "identity center: the request's checkpoint names another assignment (the role's target changed); if the bot held that one, remove it by hand",
      );
    }
    const userId = spec.memo?.userId;
    const identityStoreId = spec.memo?.identityStoreId;
    if (userId === undefined || identityStoreId === undefined) return { checkpointed: false };
    return {
      record: {
        holder: spec.memo?.alreadyHeld === 'true' ? 'standing' : 'bot',
        userId,
        identityStoreId,
        accountId: target.accountId,
        permissionSetArn: target.permissionSetArn,
      },
      checkpointed: false,
    };
  }

  /** Creates the assignment and waits until AWS has. */
  private async create(target: IdentityCenterTarget, userId: string, requestId: string): Promise<void> {
    const created = await this.run('sso:CreateAccountAssignment', requestId, () =>
      this.ssoAdmin.send(new CreateAccountAssignmentCommand(assignmentOf(target, userId))),
    ).catch((error: unknown) => {
      if (awsErrorCode(error) === 'ServiceQuotaExceeded') {
        throw providerError(
          PROVIDER,
          `AWS Identity Center refused the assignment because a quota is reached (${errorMessage(error)}): each permission set assigned in an account is an IAM role there, so the account's provisioned permission sets and IAM roles are limited. Remove unused assignments or permission sets from account ${target.accountId}, or ask AWS for a higher quota, then request again.`,
          false,
          error,
        );
      }
      throw awsFailure(error, 'sso:CreateAccountAssignment');
    });
    await this.settle('creation', created.AccountAssignmentCreationStatus, requestId, (operationId) =>
      this.ssoAdmin
        .send(
          new DescribeAccountAssignmentCreationStatusCommand({
            InstanceArn: target.instanceArn,
            AccountAssignmentCreationRequestId: operationId,
          }),
        )
        .then((answer) => answer.AccountAssignmentCreationStatus),
    );
  }

  /** The user's identity-store ID; refuses when the person has no email or the store has no such user. */
  private async requireUser(identityStoreId: string, spec: GrantSpec): Promise<string> {
    const email = requireEmail(spec);
    const userId = await this.findUser(identityStoreId, email, spec.requestId);
    if (userId === undefined) {
      throw providerError(
        PROVIDER,
        `No user with the email ${email} exists in the Identity Center identity store ${identityStoreId}: add them there, or set \`email: <their Identity Center email>\` for this Slack user under \`principals\` in the policy file.`,
        false,
      );
    }
    return userId;
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

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message.trim() : '';
  return message === '' ? 'no reason given' : message.slice(0, 300);
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
