/** One CloudProvider over three AWS kinds (inline IAM policy, assumable role, Identity Center), each step delegated: this module routes. */
import { isDeepStrictEqual } from 'node:util';
import { DeleteUserPolicyCommand, GetUserPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import type {
  Clock,
  CloudProvider,
  FoundGrant,
  GrantCheckpoints,
  GrantOutcome,
  GrantSpec,
  OperationSlotPool,
  RoleTargetRef,
} from '../../domain/ports';
import { systemClock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import { inProcessPacing } from '../in-process-pacer';
import { InProcessOperationSlotPool } from '../operation-slots';
import { type CallRetrySettings, DEFAULT_CALL_RETRY, type ProviderPacing, retryTransient } from '../retry';
import { type AwsClients, awsApiOf, defaultClients } from './aws-clients';
import { awsErrorCode, awsFailure, isNotFound, isThrottlingAwsError, isTransientAwsError } from './aws-errors';
import { awsTargetSchema, expiryTimestamp, JIT_POLICY_PATH, jitPolicyName, roleSessionName } from './aws-target';
import {
  assumeRoleInstructions,
  iamUserName,
  iamUserNameIfAny,
  missingUser,
  parseTarget,
  policyFor,
} from './iam-grant-spec';
import { IamGrantSweep, type IamRoleRef, type SweepSettings } from './iam-sweep';
import { type AwsCallRunner, IdentityCenterAssignments, type StatusPolling } from './identity-center';
import { ProcessGrantCheckpoints } from './identity-center-holder';
import { JitManagedPolicies, parsePolicyDocument } from './jit-managed-policy';
import { RevokedSessionDenies } from './revoked-session-denies';

const PROVIDER = 'aws';

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
  /**
   * Where Identity Center grants record, before creating an assignment, whether it was there before them, so a
   * retry after a crash never takes the bot's own assignment for a standing one. Default: this process's memory,
   * which a restart forgets; the registry passes the Redis-backed ones.
   */
  checkpoints?: GrantCheckpoints;
  /** Revocation time, for how long a revoked `assume-role` session is denied; default: the wall clock. */
  clock?: Clock;
  /**
   * The pace of IAM and Identity Center calls, shared by every bot process (the registry passes the Redis pacer and
   * the policy's `settings.cloudRates`); default: paced within this process at the documented default rates.
   */
  pacing?: ProviderPacing;
  /**
   * Identity Center's slots for assignment operations under way, shared by every bot process (the registry passes
   * the Redis ones); default: counted within this process.
   */
  operationSlots?: OperationSlotPool;
}

const DEFAULT_POLLING: StatusPolling = { intervalMs: 1_000, attempts: 30 };
const DEFAULT_SWEEP: SweepSettings = { pageSize: 1_000, concurrency: 4 };

/**
 * Grants AWS access three ways: a customer managed policy `/jit/jit-<requestId>` attached to the requester's IAM
 * user holding the role's statements (`iam-policy`) or `sts:AssumeRole` on one role (`assume-role`), each
 * statement conditioned on `aws:CurrentTime` so AWS itself ends the access; or an IAM Identity Center account
 * assignment (`identity-center`), which only the bot's own revocation ends. Grants made as inline policies
 * `jit-<requestId>` by earlier versions are still verified, revoked and swept.
 */
export class AwsProvider implements CloudProvider {
  readonly name = PROVIDER;
  readonly identifiesPeopleByEmail = true;

  private readonly logger: Logger;
  private readonly iam: IAMClient;
  private readonly identityCenter: IdentityCenterAssignments;
  private readonly sweep: IamGrantSweep;
  private readonly policies: JitManagedPolicies;
  private readonly denies: RevokedSessionDenies;
  /** The IAM users (lower-cased) whose inline policies the last sweep read in full, for {@link sweeps}. */
  private sweptUsers: ReadonlySet<string> = new Set();
  /**
   * The bot's managed policies the last sweep listed but could not read, for {@link sweeps}; undefined when it did
   * not list them all (or failed), so then none can be taken as missing.
   */
  private policiesUnread: ReadonlySet<string> | undefined;
  private readonly retry: CallRetrySettings;
  private readonly pacing: ProviderPacing;

  constructor(options: AwsProviderOptions) {
    this.logger = options.logger;
    this.retry = { ...DEFAULT_CALL_RETRY, ...options.retry };
    this.pacing = options.pacing ?? inProcessPacing();
    const clients = defaultClients(options.clients ?? {});
    this.iam = clients.iam;
    this.identityCenter = new IdentityCenterAssignments(
      clients.ssoAdmin,
      clients.identityStore,
      this.run,
      { ...DEFAULT_POLLING, ...options.statusPolling },
      options.checkpoints ?? new ProcessGrantCheckpoints(),
      options.operationSlots ?? new InProcessOperationSlotPool(),
      this.logger,
    );
    this.sweep = new IamGrantSweep(this.iam, this.run, { ...DEFAULT_SWEEP, ...options.sweep }, this.logger);
    this.policies = new JitManagedPolicies(this.iam, this.run, this.logger);
    this.denies = new RevokedSessionDenies(this.iam, this.run, options.clock ?? systemClock, this.logger);
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseTarget(spec);
    if (target.kind === 'identity-center') return this.identityCenter.grant(target, spec);

    // A later grant of the same request (a new expiry) writes a new version of the policy the first one made.
    const userName = spec.memo?.userName ?? iamUserName(spec);
    const policyName = jitPolicyName(spec.requestId);
    const expiry = expiryTimestamp(spec.expiresAt);
    const { requestId } = spec;
    const document = policyFor(target, expiry, requestId);
    const { arn, created } = await this.policies.write(userName, requestId, document, spec.memo?.policyArn, () =>
      missingUser(spec, userName),
    );
    try {
      await this.policies.attach(userName, arn, requestId);
    } catch (error) {
      // A first grant that cannot attach leaves no policy behind; an extension's policy stays with its grant.
      if (!isTransientAwsError(error) && spec.memo?.policyArn === undefined) {
        await this.policies
          .remove(arn, undefined, requestId)
          .catch((cleanup: unknown) =>
            this.logger.warn(
              { provider: PROVIDER, requestId, policyArn: arn, err: cleanup },
              'could not delete the managed policy of a grant that failed; the sweep deletes it once expired',
            ),
          );
      }
      if (isNotFound(error)) throw missingUser(spec, userName, error);
      throw awsFailure(error, 'iam:AttachUserPolicy');
    }
    if (spec.memo !== undefined && spec.memo.policyArn === undefined) {
      // Extending a grant an earlier version made inline: the managed policy replaces it.
      await this.deleteInlinePolicy(userName, requestId);
    }
    this.logger.info(
      { provider: PROVIDER, requestId, userName, policyArn: arn, created, expiry },
      `managed policy ${arn} attached to IAM user ${userName} until ${expiry}`,
    );
    return {
      memo: { userName, policyArn: arn },
      instructions:
        target.kind === 'assume-role'
          ? assumeRoleInstructions(target.roleArn, requestId, userName, expiry)
          : `Your IAM user \`${userName}\` holds the managed policy \`${policyName}\` (path \`${JIT_POLICY_PATH}\`) until ${expiry} (AWS may take a few minutes to apply it).`,
    };
  }

  /**
   * Removing the policy needs only its user, its ARN (or the user to derive it from) and the request ID, so for
   * the IAM kinds the target's `kind` is all that is read: a grant whose role's statements changed since, or one
   * the sweep found and attributed to no role, is still revoked. A grant whose memo names a user but no policy
   * ARN was made inline by an earlier version: its inline policy is deleted.
   *
   * For `assume-role`, once the policy is gone (no new session), the grant's session `jit-<requestId>` is denied
   * on the target role so credentials already issued stop working too (see `RevokedSessionDenies`). That is best
   * effort: only transient trouble fails the revocation; a missing permission, a full role or a role out of reach
   * is logged as an error naming the fix, and the revocation succeeds since the grant itself is gone.
   */
  async revoke(spec: GrantSpec): Promise<void> {
    const kind = spec.target.kind;
    if (kind !== 'iam-policy' && kind !== 'assume-role') {
      const target = parseTarget(spec);
      if (target.kind === 'identity-center') return this.identityCenter.revoke(target, spec);
    }

    const { requestId } = spec;
    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    const knownArn = spec.memo?.policyArn;
    if (userName === undefined && knownArn === undefined) {
      // Without a user name no grant can have been written: cleanup after a refused grant.
      this.logger.info({ provider: PROVIDER, requestId }, 'no IAM user for this request: nothing to revoke');
      return;
    }
    // Without the ARN (cleanup after a grant that failed before storing its memo, or an inline grant): derive it.
    const policyArn =
      knownArn ?? (userName === undefined ? undefined : await this.policies.arnFor(userName, requestId));
    if (policyArn !== undefined) await this.policies.remove(policyArn, userName, requestId);
    if (knownArn === undefined && userName !== undefined) await this.deleteInlinePolicy(userName, requestId);
    if (kind === 'assume-role') await this.denyRevokedSession(spec);
  }

  /** Denies the revoked grant's session on its role; a target too broken to name the role is logged. */
  private async denyRevokedSession(spec: GrantSpec): Promise<void> {
    const parsed = awsTargetSchema.safeParse(spec.target);
    if (!parsed.success || parsed.data.kind !== 'assume-role') {
      this.logger.error(
        { provider: PROVIDER, requestId: spec.requestId, sessionName: roleSessionName(spec.requestId) },
        'the revoked assume-role grant names no valid role ARN, so its session was not denied and lasts until it ends by itself',
      );
      return;
    }
    await this.denies.deny(parsed.data.roleArn, spec.requestId, spec.expiresAt);
  }

  /** True for an Identity Center grant that found the assignment already held and so added nothing. */
  async heldBefore(spec: GrantSpec): Promise<boolean> {
    if (spec.target.kind !== 'identity-center') return false;
    const target = parseTarget(spec);
    return target.kind === 'identity-center' && (await this.identityCenter.heldBefore(target, spec));
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const target = parseTarget(spec);
    if (target.kind === 'identity-center') return this.identityCenter.verify(target, spec);

    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    if (userName === undefined) return false;
    const expected = policyFor(target, expiryTimestamp(spec.expiresAt), spec.requestId);
    if (spec.memo === undefined || spec.memo.policyArn !== undefined) {
      const arn = spec.memo?.policyArn ?? (await this.policies.arnFor(userName, spec.requestId));
      if (arn === undefined) return false;
      const document = await this.policies.defaultDocument(arn, spec.requestId);
      return isDeepStrictEqual(document, expected) && (await this.policies.isAttached(userName, arn, spec.requestId));
    }
    // A grant an earlier version made as an inline policy.
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
    return isDeepStrictEqual(parsePolicyDocument(stored), expected);
  }

  /**
   * The managed policies `/jit/jit-<requestId>` and the inline policies `jit-<requestId>` of earlier versions, when
   * any role is of kind `iam-policy` or `assume-role`: one sweep serves them all, since the policies belong to
   * users, not to roles (see `IamGrantSweep` for the calls and what a partial failure returns).
   *
   * The same sweep removes, from the `assume-role` roles' inline `jit-revoked-*` policies, the denies of revoked
   * sessions that have ended (see `RevokedSessionDenies.prune`; it never fails the sweep).
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
      this.policiesUnread = undefined;
      return [];
    }
    // A sweep that throws has read nothing: nothing may be taken as missing until the next one succeeds.
    this.sweptUsers = new Set();
    this.policiesUnread = undefined;
    try {
      const { found, usersRead, policiesUnread } = await this.sweep.find(iamRoles);
      this.sweptUsers = usersRead;
      this.policiesUnread = policiesUnread;
      return found;
    } finally {
      // Denies of revoked sessions that have ended deny nothing but take room in the role's inline policies.
      await this.denies.prune(
        iamRoles.flatMap((role) => (role.parsed.kind === 'assume-role' ? [role.parsed.roleArn] : [])),
      );
    }
  }

  /**
   * True when the last sweep would have listed this grant's policy, so its absence from that sweep means the
   * policy is gone: for a managed policy, when the sweep listed all of the bot's and read this one (or did not see
   * it); for an inline one, when it read in full the inline policies of its user. False for Identity Center (never
   * swept), so a failed read is never taken for a policy removed by hand.
   */
  sweeps(spec: GrantSpec): boolean {
    const kind = spec.target.kind;
    if (kind !== 'iam-policy' && kind !== 'assume-role') return false;
    const policyArn = spec.memo?.policyArn;
    if (policyArn !== undefined) return this.policiesUnread !== undefined && !this.policiesUnread.has(policyArn);
    const userName = spec.memo?.userName ?? iamUserNameIfAny(spec);
    return userName !== undefined && this.sweptUsers.has(userName.toLowerCase());
  }

  /** Deletes the inline policy `jit-<requestId>` an earlier version wrote; one already gone counts as deleted. */
  private async deleteInlinePolicy(userName: string, requestId: string): Promise<void> {
    const policyName = jitPolicyName(requestId);
    try {
      await this.run('iam:DeleteUserPolicy', requestId, () =>
        this.iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: policyName })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw awsFailure(error, 'iam:DeleteUserPolicy');
      return;
    }
    this.logger.info(
      { provider: PROVIDER, requestId, userName, policyName },
      `deleted inline policy ${policyName} from IAM user ${userName}`,
    );
  }

  /**
   * Every AWS call goes through here. The SDK's own retries are off (`maxAttempts: 1` on the default clients) so
   * that `retryTransient` alone decides: one backoff policy for all providers, logged with the request ID, and
   * no multiplying of the SDK's 3 attempts by ours; nor can the SDK's retries swallow a throttle before the pacer
   * hears of it. Each call first takes a slot on its API's pace (one key per API: AWS publishes one collective
   * limit for Identity Center and none for IAM, so reads and writes share it); a throttled answer slows that pace
   * for every process and is tried again without using an attempt.
   */
  private readonly run: AwsCallRunner = async (action, requestId, operation) => {
    const api = awsApiOf(action);
    const { pacer, rateOf, maxThrottledMs } = this.pacing;
    try {
      const result = await retryTransient(operation, {
        ...this.retry,
        isTransient: isTransientAwsError,
        pacing: {
          pacer,
          key: api,
          rate: () => rateOf(api),
          isThrottled: isThrottlingAwsError,
          ...(maxThrottledMs !== undefined && { maxThrottledMs }),
          onThrottled: (error, details) =>
            this.logger.info(
              { provider: PROVIDER, requestId, action, api, code: awsErrorCode(error), ...details },
              `${action} was throttled; every bot process slows its ${api} calls and this one is tried again`,
            ),
          onPacerError: (error) =>
            this.logger.warn(
              { provider: PROVIDER, requestId, action, api, err: error },
              `the shared pace of ${api} calls could not be read; ${action} goes unpaced`,
            ),
        },
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
export function createAwsProvider(
  logger: Logger,
  checkpoints?: GrantCheckpoints,
  clock?: Clock,
  pacing?: ProviderPacing,
  operationSlots?: OperationSlotPool,
): AwsProvider {
  return new AwsProvider({
    logger,
    ...(checkpoints !== undefined && { checkpoints }),
    ...(clock !== undefined && { clock }),
    ...(pacing !== undefined && { pacing }),
    ...(operationSlots !== undefined && { operationSlots }),
  });
}
