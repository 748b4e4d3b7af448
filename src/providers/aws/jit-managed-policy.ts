import { isDeepStrictEqual } from 'node:util';
import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetUserCommand,
  type IAMClient,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyVersionsCommand,
  type PolicyVersion,
} from '@aws-sdk/client-iam';
import type { Logger } from '../../lib/logger';
import { providerError } from '../retry';
import { awsFailure, isAlreadyExists, isDeleteConflict, isNotFound } from './aws-errors';
import { JIT_POLICY_PATH, jitPolicyName, type PolicyDocument } from './aws-target';
import { iamPages } from './iam-pages';
import type { AwsCallRunner } from './identity-center';

const PROVIDER = 'aws';

/** `arn:<partition>:iam::<account>:user/<path/><name>`: the account and partition every policy ARN needs. */
const USER_ARN = /^arn:([^:]+):iam::(\d{12}):user\//;

/** How many times deleting a policy re-reads its versions and attachments after IAM answers `DeleteConflict`. */
const DELETE_ROUNDS = 3;

/** IAM returns documents URL-encoded (RFC 3986); undefined when the text is not JSON. */
export function parsePolicyDocument(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    // Not encoded after all (a stray `%`): read it as it is.
  }
  try {
    return JSON.parse(decoded) as unknown;
  } catch {
    return undefined;
  }
}

/** The bot's policy's ARN in the account and partition of a user ARN; undefined when it is not a user ARN. */
export function jitPolicyArn(userArn: string, requestId: string): string | undefined {
  const match = USER_ARN.exec(userArn);
  if (!match) return undefined;
  return `arn:${match[1]}:iam::${match[2]}:policy${JIT_POLICY_PATH}${jitPolicyName(requestId)}`;
}

/**
 * The customer managed policies `/jit/jit-<requestId>` that hold the IAM kinds' grants, one per request, each
 * attached to the requester's IAM user. Managed rather than inline because AWS counts all inline policies of a
 * user against one 2,048-character quota, so two grants to one person could not both be held; each managed policy
 * has its own 6,144 characters, and a user may have 10 of them attached (IAM and AWS STS quotas).
 *
 * Every step is idempotent, so a replayed or crashed grant or revocation converges: a policy that already exists
 * under our path and name is reused, attaching twice is harmless, and what is already gone counts as removed.
 */
export class JitManagedPolicies {
  constructor(
    private readonly iam: IAMClient,
    private readonly run: AwsCallRunner,
    private readonly logger: Logger,
  ) {}

  /**
   * The ARN of the request's policy, built from the user's own ARN since IAM names no policy without its account.
   * Undefined when the user does not exist; other failures throw.
   */
  async arnFor(userName: string, requestId: string): Promise<string | undefined> {
    let userArn: string | undefined;
    try {
      const answer = await this.run('iam:GetUser', requestId, () =>
        this.iam.send(new GetUserCommand({ UserName: userName })),
      );
      userArn = answer.User?.Arn;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw awsFailure(error, 'iam:GetUser');
    }
    const arn = userArn === undefined ? undefined : jitPolicyArn(userArn, requestId);
    if (arn === undefined) {
      throw providerError(PROVIDER, `AWS answered iam:GetUser for "${userName}" without a user ARN.`, true);
    }
    return arn;
  }

  /**
   * Makes the request's policy hold `document` as its default version, creating the policy if it is not there.
   * `knownArn` is the ARN a previous grant of the request returned (an extension); without it the policy is
   * created, and one that already exists (a replay) is found by name under our path.
   * @returns the ARN, and whether this call created the policy.
   * @throws `missingUser()` when the user to derive the ARN from does not exist; CloudProviderError else.
   */
  async write(
    userName: string,
    requestId: string,
    document: PolicyDocument,
    knownArn: string | undefined,
    missingUser: () => Error,
  ): Promise<{ arn: string; created: boolean }> {
    if (knownArn !== undefined && (await this.setDocument(knownArn, document, requestId)) !== 'gone') {
      return { arn: knownArn, created: false };
    }
    const policyName = jitPolicyName(requestId);
    try {
      const answer = await this.run('iam:CreatePolicy', requestId, () =>
        this.iam.send(
          new CreatePolicyCommand({
            PolicyName: policyName,
            Path: JIT_POLICY_PATH,
            PolicyDocument: JSON.stringify(document),
            // The description cannot change later, so it says nothing an extension would make wrong.
            Description: `Just-in-time access of IAM user ${userName} for request ${requestId}; the bot deletes it when the access ends.`,
          }),
        ),
      );
      const arn = answer.Policy?.Arn;
      if (arn === undefined) throw providerError(PROVIDER, 'AWS answered iam:CreatePolicy without a policy ARN.', true);
      return { arn, created: true };
    } catch (error) {
      if (!isAlreadyExists(error)) throw awsFailure(error, 'iam:CreatePolicy');
    }
    // A replay: the policy of the same name exists. Ours only if it is under our path.
    const arn = knownArn ?? (await this.arnFor(userName, requestId));
    if (arn === undefined) throw missingUser();
    if ((await this.setDocument(arn, document, requestId)) === 'gone') {
      throw providerError(
        PROVIDER,
        `A managed policy named ${policyName} exists in the AWS account outside the path ${JIT_POLICY_PATH}, so it is not the bot's: delete or rename it, then approve the request again.`,
        false,
      );
    }
    return { arn, created: false };
  }

  /**
   * Sets the policy's default version to `document` unless it already is. Versions other than the default are
   * deleted first: they grant nothing, and AWS keeps at most 5 versions of a policy (IAM and AWS STS quotas).
   */
  private async setDocument(
    arn: string,
    document: PolicyDocument,
    requestId: string,
  ): Promise<'same' | 'updated' | 'gone'> {
    const versions = await this.versions(arn, requestId);
    if (versions === undefined) return 'gone';
    const current = versions.find((version) => version.IsDefaultVersion === true);
    if (current?.VersionId !== undefined) {
      const stored = await this.versionDocument(arn, current.VersionId, requestId);
      if (stored === 'gone') return 'gone';
      if (isDeepStrictEqual(stored, document)) return 'same';
    }
    await this.deleteOtherVersions(arn, versions, requestId);
    try {
      await this.run('iam:CreatePolicyVersion', requestId, () =>
        this.iam.send(
          new CreatePolicyVersionCommand({
            PolicyArn: arn,
            PolicyDocument: JSON.stringify(document),
            SetAsDefault: true,
          }),
        ),
      );
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw awsFailure(error, 'iam:CreatePolicyVersion');
    }
    this.logger.info(
      { provider: PROVIDER, requestId, policyArn: arn },
      `wrote a new default version of managed policy ${arn}`,
    );
    return 'updated';
  }

  /** Attaches the policy to the user; attaching what is attached already succeeds. */
  async attach(userName: string, arn: string, requestId: string): Promise<void> {
    await this.run('iam:AttachUserPolicy', requestId, () =>
      this.iam.send(new AttachUserPolicyCommand({ UserName: userName, PolicyArn: arn })),
    );
  }

  /**
   * Detaches the policy from the user (when known) and deletes it with its versions. What is already gone counts
   * as done, so a replay or a second revocation succeeds.
   */
  async remove(arn: string, userName: string | undefined, requestId: string): Promise<void> {
    if (userName !== undefined) await this.detach(userName, arn, requestId);
    for (let round = 1; ; round += 1) {
      const versions = await this.versions(arn, requestId);
      if (versions === undefined) return;
      await this.deleteOtherVersions(arn, versions, requestId);
      try {
        await this.run('iam:DeletePolicy', requestId, () => this.iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
        this.logger.info({ provider: PROVIDER, requestId, policyArn: arn }, `deleted managed policy ${arn}`);
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isDeleteConflict(error)) throw awsFailure(error, 'iam:DeletePolicy');
        if (round >= DELETE_ROUNDS) {
          throw providerError(
            PROVIDER,
            `AWS would not delete the managed policy ${arn}: it is still attached to a group or role, or a new version appeared meanwhile. Detach it from everything in the IAM console; the bot tries again.`,
            true,
            error,
          );
        }
        // Still attached somewhere (a user someone else attached it to): the access ends for everyone who holds it.
        await this.detachFromEveryUser(arn, requestId);
      }
    }
  }

  /** The default version's document, or undefined when the policy is gone. */
  async defaultDocument(arn: string, requestId: string): Promise<unknown> {
    let versionId: string | undefined;
    try {
      const answer = await this.run('iam:GetPolicy', requestId, () =>
        this.iam.send(new GetPolicyCommand({ PolicyArn: arn })),
      );
      versionId = answer.Policy?.DefaultVersionId;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw awsFailure(error, 'iam:GetPolicy');
    }
    if (versionId === undefined) return undefined;
    const document = await this.versionDocument(arn, versionId, requestId);
    return document === 'gone' ? undefined : document;
  }

  /** True when the policy is attached to the user; false when either is gone. */
  async isAttached(userName: string, arn: string, requestId: string): Promise<boolean> {
    try {
      const pages = iamPages((marker) =>
        this.run('iam:ListAttachedUserPolicies', requestId, () =>
          this.iam.send(
            new ListAttachedUserPoliciesCommand({
              UserName: userName,
              PathPrefix: JIT_POLICY_PATH,
              Marker: marker,
            }),
          ),
        ),
      );
      for await (const page of pages) {
        if ((page.AttachedPolicies ?? []).some((policy) => policy.PolicyArn === arn)) return true;
      }
    } catch (error) {
      if (isNotFound(error)) return false;
      throw awsFailure(error, 'iam:ListAttachedUserPolicies');
    }
    return false;
  }

  private async detach(userName: string, arn: string, requestId: string): Promise<void> {
    try {
      await this.run('iam:DetachUserPolicy', requestId, () =>
        this.iam.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: arn })),
      );
      this.logger.info(
        { provider: PROVIDER, requestId, userName, policyArn: arn },
        `detached managed policy ${arn} from IAM user ${userName}`,
      );
    } catch (error) {
      if (!isNotFound(error)) throw awsFailure(error, 'iam:DetachUserPolicy');
    }
  }

  private async detachFromEveryUser(arn: string, requestId: string): Promise<void> {
    const users: string[] = [];
    try {
      const pages = iamPages((marker) =>
        this.run('iam:ListEntitiesForPolicy', requestId, () =>
          this.iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn, EntityFilter: 'User', Marker: marker })),
        ),
      );
      for await (const page of pages) {
        users.push(...(page.PolicyUsers ?? []).flatMap((user) => (user.UserName === undefined ? [] : [user.UserName])));
      }
    } catch (error) {
      if (isNotFound(error)) return;
      throw awsFailure(error, 'iam:ListEntitiesForPolicy');
    }
    for (const userName of users) await this.detach(userName, arn, requestId);
  }

  /** The policy's versions, or undefined when the policy is gone. */
  private async versions(arn: string, requestId: string): Promise<PolicyVersion[] | undefined> {
    try {
      const answer = await this.run('iam:ListPolicyVersions', requestId, () =>
        this.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn })),
      );
      return answer.Versions ?? [];
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw awsFailure(error, 'iam:ListPolicyVersions');
    }
  }

  private async versionDocument(arn: string, versionId: string, requestId: string): Promise<unknown> {
    try {
      const answer = await this.run('iam:GetPolicyVersion', requestId, () =>
        this.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: versionId })),
      );
      return parsePolicyDocument(answer.PolicyVersion?.Document);
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw awsFailure(error, 'iam:GetPolicyVersion');
    }
  }

  /** Deletes every version but the default, oldest first; one deleted meanwhile is simply gone. */
  private async deleteOtherVersions(arn: string, versions: readonly PolicyVersion[], requestId: string) {
    const others = versions
      .filter((version) => version.IsDefaultVersion !== true && version.VersionId !== undefined)
      .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0));
    for (const version of others) {
      try {
        await this.run('iam:DeletePolicyVersion', requestId, () =>
          this.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: version.VersionId })),
        );
      } catch (error) {
        if (!isNotFound(error)) throw awsFailure(error, 'iam:DeletePolicyVersion');
      }
    }
  }
}
