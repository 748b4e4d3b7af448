import { isDeepStrictEqual } from 'node:util';
import { DeleteUserPolicyCommand, GetUserPolicyCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { CloudProvider, FoundGrant, GrantOutcome, GrantSpec, RoleTargetRef } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { type CallRetrySettings, DEFAULT_CALL_RETRY, providerError, retryTransient } from '../retry';
import { awsErrorCode, awsFailure, isNotFound, isTransientAwsError } from './aws-errors';
import {
  type AwsTarget,
  awsTargetSchema,
  expiryTimestamp,
  grantedStatements,
  type IamStatement,
  isIamUserName,
  jitPolicyName,
  type PolicyDocument,
  parseRoleArn,
  switchRoleUrl,
  timeBoundPolicy,
} from './aws-target';
import { IamGrantSweep, type IamRoleRef, type SweepSettings } from './iam-sweep';
import { type AwsCallRunner, IdentityCenterAssignments, type StatusPolling } from './identity-center';

const PROVIDER = 'aws';

/** The SDK clients the provider uses; each built from the default chain unless given. */
export interface AwsClients {
  iam?: IAMClient;
  ssoAdmin?: SSOAdminClient;
  identityStore?: IdentitystoreClient;
}

export interface AwsProviderOptions {
  logger: Logger;
  /** Clients to use instead of the default ones (only for pointing tests at an emulator some other way). */
  clients?: AwsClients;
  /** Backoff for throttling and 5xx within one call; defaults: 4 attempts, 200 ms base, 2 s cap. */
  retry?: Partial<CallRetrySettings>;
  /** How often and how many times to read an Identity Center operation's status; defaults: every 1 s, 30 reads. */
  statusPolling?: Partial<StatusPolling>;
  /** How the cloud sweep pages and how many users it reads at once; defaults: 1,000 a page, 4 users at once. */
  sweep?: Partial<SweepSettings>;
}

const DEFAULT_POLLING: StatusPolling = { intervalMs: 1_000, attempts: 30 };
const DEFAULT_SWEEP: SweepSettings = { pageSize: 1_000, concurrency: 4 };

/**
 * Grants AWS access three ways: an inline policy `jit-<requestId>` on the requester's IAM user holding the role's
 * statements (`iam-policy`) or `sts:AssumeRole` on one role (`assume-role`), each statement conditioned on
 * `aws:CurrentTime` so AWS itself ends the access; or an IAM Identity Center account assignment
 * (`identity-center`), which only the bot's own revocation ends.
 */
export class AwsProvider implements CloudProvider {
  readonly name = PROVIDER;
  readonly identifiesPeopleByEmail = true;

  private readonly logger: Logger;
  private readonly iam: IAMClient;
  private readonly identityCenter: IdentityCenterAssignments;
  private readonly sweep: IamGrantSweep;
  /** The IAM users (lower-cased) whose inline policies the last sweep read in full, for {@link sweeps}. */
  private sweptUsers: ReadonlySet<string> = new Set();
  private readonly retry: CallRetrySettings;

  constructor(options: AwsProviderOptions) {
    this.logger = options.logger;
    this.retry = { ...DEFAULT_CALL_RETRY, ...options.retry };
    const clients = defaultClients(options.clients ?? {});
    this.iam = clients.iam;
    this.identityCenter = new IdentityCenterAssignments(
      clients.ssoAdmin,
      clients.identityStore,
      this.run,
      { ...DEFAULT_POLLING, ...options.statusPolling },
      this.logger,
    );
    this.sweep = new IamGrantSweep(this.iam, this.run, { ...DEFAULT_SWEEP, ...options.sweep }, this.logger);
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseTarget(spec);
    if (target.kind === 'identity-center') return this.identityCenter.grant(target, spec);

    // A later grant of the same request (a new expiry) rewrites the policy where the first one put it.
    const userName = spec.memo?.userName ?? iamUserName(spec);
    const policyName = jitPolicyName(spec.requestId);
    const expiry = expiryTimestamp(spec.expiresAt);
    const document = policyFor(target, expiry);
    try {
      // PutUserPolicy replaces a policy of the same name: a second grant leaves one policy with the new expiry.
      await this.run('iam:PutUserPolicy', spec.requestId, () =>
        this.iam.send(
          new PutUserPolicyCommand({
            UserName: userName,
            PolicyName: policyName,
            PolicyDocument: JSON.stringify(document),
          }),
        ),
      );
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') throw missingUser(spec, userName, error);
      throw awsFailure(error, 'iam:PutUserPolicy');
    }
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, userName, policyName, expiry },
      `wrote inline policy ${policyName} on IAM user ${userName}`,
    );
    return {
      memo: { userName },
      instructions:
        target.kind === 'assume-role'
          ? assumeRoleInstructions(target.roleArn, spec.requestId, userName, expiry)
          : `Your IAM user \`${userName}\` holds the inline policy \`${policyName}\` until ${expiry} (AWS may take a few minutes to apply it).`,
    };
  }

  /**
   * Deleting an inline policy needs only its user and the request ID, so for the IAM kinds the target's `kind` is
   * all that is read: a grant whose role's statements changed since, or one the sweep found and attributed to no
   * role, is still revoked.
   */
  async revoke(spec: GrantSpec): Promise<void> {
    const kind = spec.target.kind;
    if (kind !== 'iam-policy' && kind !== 'assume-role') {
      const target = parseTarget(spec);
      if (target.kind === 'identity-center') return this.identityCenter.revoke(target, spec);
    }

    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    if (userName === undefined) {
      // Without a user name no grant can have been written: cleanup after a refused grant.
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId },
        'no IAM user for this request: nothing to revoke',
      );
      return;
    }
    const policyName = jitPolicyName(spec.requestId);
    try {
      await this.run('iam:DeleteUserPolicy', spec.requestId, () =>
        this.iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: policyName })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw awsFailure(error, 'iam:DeleteUserPolicy');
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, userName, policyName },
        `inline policy ${policyName} on IAM user ${userName} already gone`,
      );
      return;
    }
    this.logger.info(
      { provider: PROVIDER, requestId: spec.requestId, userName, policyName },
      `deleted inline policy ${policyName} from IAM user ${userName}`,
    );
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const target = parseTarget(spec);
    if (target.kind === 'identity-center') return this.identityCenter.verify(target, spec);

    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    if (userName === undefined) return false;
    let stored: string | undefined;
    try {
      const answer = await this.run('iam:GetUserPolicy', spec.requestId, () =>
        this.iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: jitPolicyName(spec.requestId) })),
      );
      stored = answer.PolicyDocument;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw awsFailure(error, 'iam:GetUserPolicy');
    }
    if (stored === undefined) return false;
    // IAM returns the document URL-encoded (RFC 3986).
    const expected = policyFor(target, expiryTimestamp(spec.expiresAt));
    return isDeepStrictEqual(JSON.parse(decodeURIComponent(stored)), expected);
  }

  /**
   * The inline policies `jit-<requestId>` on IAM users, when any role is of kind `iam-policy` or `assume-role`:
   * one sweep of all users serves them all, since the policies belong to users, not to roles (see
   * `IamGrantSweep` for the calls and what a partial failure returns).
   *
   * Identity Center assignments are not swept: they carry no name, description or expiry, so nothing in AWS says
   * which were the bot's. Only the store-driven revocation and the reconciler's store sweep end them, and
   * `identity-center` roles add nothing here.
   */
  async findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    const iamRoles: IamRoleRef[] = [];
    for (const role of roles) {
      const parsed = awsTargetSchema.safeParse(role.target);
      if (!parsed.success) {
        this.logger.warn({ provider: PROVIDER, roleId: role.roleId }, 'sweep skips a role whose AWS target is invalid');
      } else if (parsed.data.kind !== 'identity-center') {
        iamRoles.push({ roleId: role.roleId, target: role.target, parsed: parsed.data });
      }
    }
    if (iamRoles.length === 0) {
      this.logger.debug({ provider: PROVIDER }, 'no iam-policy or assume-role roles: no IAM user to sweep');
      this.sweptUsers = new Set();
      return [];
    }
    // A sweep that throws has read no one: nothing may be taken as missing until the next one succeeds.
    this.sweptUsers = new Set();
    const { found, usersRead } = await this.sweep.find(iamRoles);
    this.sweptUsers = usersRead;
    return found;
  }

  /**
   * True when the last sweep read in full the inline policies of the user this grant lives on, so its absence
   * from that sweep means the policy is gone. False for Identity Center (never swept) and for a user the last
   * sweep could not read or did not reach, so a failed read is never taken for a policy removed by hand.
   */
  sweeps(spec: GrantSpec): boolean {
    const kind = spec.target.kind;
    if (kind !== 'iam-policy' && kind !== 'assume-role') return false;
    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    return userName !== undefined && this.sweptUsers.has(userName.toLowerCase());
  }

  /**
   * Every AWS call goes through here. The SDK's own retries are off (`maxAttempts: 1` on the default clients) so
   * that `retryTransient` alone decides: one backoff policy for all providers, logged with the request ID, and
   * no multiplying of the SDK's 3 attempts by ours.
   */
  private readonly run: AwsCallRunner = async (action, requestId, operation) => {
    try {
      const result = await retryTransient(operation, {
        ...this.retry,
        isTransient: isTransientAwsError,
        onRetry: (error, attempt, delayMs) =>
          this.logger.info(
            { provider: PROVIDER, requestId, action, attempt, delayMs, code: awsErrorCode(error) },
            `${action} failed transiently; retrying`,
          ),
      });
      this.logger.debug({ provider: PROVIDER, requestId, action }, `${action} succeeded`);
      return result;
    } catch (error) {
      this.logger.info({ provider: PROVIDER, requestId, action, code: awsErrorCode(error) }, `${action} failed`);
      throw error;
    }
  };
}

/** The provider as the registry builds it: clients from the default credential chain and `AWS_ENDPOINT_URL_*`. */
export function createAwsProvider(logger: Logger): AwsProvider {
  return new AwsProvider({ logger });
}

/**
 * Clients from the default credential chain. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_IAM`,
 * `AWS_ENDPOINT_URL_SSO_ADMIN`, `AWS_ENDPOINT_URL_IDENTITYSTORE` and `AWS_ENDPOINT_URL`. IAM is global;
 * Identity Center lives in its home region, so `AWS_REGION` should name that region.
 */
function defaultClients(given: AwsClients): Required<AwsClients> {
  const config = {
    region: process.env.AWS_REGION || 'us-east-1',
    maxAttempts: 1,
    // Without timeouts a stalled connection would hold the grant job; a timeout is retried like a 5xx.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
  };
  return {
    iam: given.iam ?? new IAMClient(config),
    ssoAdmin: given.ssoAdmin ?? new SSOAdminClient(config),
    identityStore: given.identityStore ?? new IdentitystoreClient(config),
  };
}

function parseTarget(spec: GrantSpec): AwsTarget {
  const parsed = awsTargetSchema.safeParse(spec.target);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`,
    );
    throw providerError(PROVIDER, `The role's AWS target is invalid: ${problems.join('; ')}`, false);
  }
  return parsed.data;
}

function policyFor(target: Exclude<AwsTarget, { kind: 'identity-center' }>, expiry: string): PolicyDocument {
  const statements: IamStatement[] = grantedStatements(target) ?? [];
  return timeBoundPolicy(statements, expiry);
}

/**
 * The IAM user to clean up or check: the one named in the principals map, else the person's email; undefined
 * when there is none that could be an IAM user name, since then no grant can have been written.
 */
function iamUserNameIfAny(spec: GrantSpec): string | undefined {
  const userName = spec.principal.identities.aws ?? spec.principal.email;
  return userName !== undefined && isIamUserName(userName) ? userName : undefined;
}

/** The IAM user named in the policy's principals map, else the person's email; refuses when neither can be. */
function iamUserName(spec: GrantSpec): string {
  const userName = spec.principal.identities.aws ?? spec.principal.email;
  if (userName === undefined) {
    throw providerError(
      PROVIDER,
      `The bot does not know the IAM user of Slack user ${spec.principal.slackUserId}: add \`aws: <IAM user name>\` for them under \`principals\` in the policy file.`,
      false,
    );
  }
  if (!isIamUserName(userName)) {
    throw providerError(
      PROVIDER,
      `"${userName}" cannot be an IAM user name (letters, digits and +=,.@_-, at most 64 characters): add \`aws: <IAM user name>\` for Slack user ${spec.principal.slackUserId} under \`principals\` in the policy file.`,
      false,
    );
  }
  return userName;
}

function missingUser(spec: GrantSpec, userName: string, cause: unknown) {
  return providerError(
    PROVIDER,
    `There is no IAM user named "${userName}": add \`aws: <IAM user name>\` for Slack user ${spec.principal.slackUserId} under \`principals\` in the policy file.`,
    false,
    cause,
  );
}

function assumeRoleInstructions(roleArn: string, requestId: string, userName: string, expiry: string): string {
  const { accountId, roleName } = parseRoleArn(roleArn);
  return [
    `Your IAM user \`${userName}\` may assume \`${roleArn}\` until ${expiry} (AWS may take a few minutes to apply it).`,
    `From the AWS CLI:\n\`\`\`aws sts assume-role --role-arn ${roleArn} --role-session-name jit-${requestId}\`\`\``,
    `In the console: <${switchRoleUrl(roleArn)}|switch to ${roleName} in ${accountId}>`,
    "A session you start lasts until it ends by itself, even past the expiry: the role's MaxSessionDuration bounds it, so keep it short.",
  ].join('\n');
}
