// Over 400 lines on purpose: the managed- and inline-policy sweeps share their failure accounting and found grants.
import { isDeepStrictEqual } from 'node:util';
import {
  GetPolicyVersionCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  type Policy,
} from '@aws-sdk/client-iam';
import { forEachLimited } from '../../domain/for-each-limited';
import type { FoundGrant } from '../../domain/ports';
import { REQUEST_ID_PATTERN } from '../../domain/request-id';
import type { Logger } from '../../lib/logger';
import { awsErrorCode, awsFailure, isNotFound } from './aws-errors';
import {
  type AssumeRoleTarget,
  expiryTimestamp,
  grantedStatements,
  type IamPolicyTarget,
  JIT_POLICY_PATH,
  timeBoundPolicy,
} from './aws-target';
import { type IamPage, iamPages } from './iam-pages';
import type { AwsCallRunner } from './identity-center';
import { parsePolicyDocument } from './jit-managed-policy';
import { policyDocumentExpiry, targetOfDocument } from './policy-document';

const PROVIDER = 'aws';

/** Only a name that is exactly `jit-<requestId>` is the bot's. */
const JIT_POLICY_NAME = new RegExp(`^jit-(${REQUEST_ID_PATTERN})$`);

/** How the sweep pages and how many users or policies it reads at once. */
export interface SweepSettings {
  /** `MaxItems` for ListPolicies, ListEntitiesForPolicy, ListUsers and ListUserPolicies (AWS allows 1 to 1,000). */
  pageSize: number;
  /** Users or policies read at the same time; IAM's request rate is low and cannot be raised. */
  concurrency: number;
}

/** An IAM-kind role of the policy in force: its target as the policy gives it, and as the schema parsed it. */
export interface IamRoleRef {
  roleId: string;
  target: Readonly<Record<string, unknown>>;
  parsed: IamPolicyTarget | AssumeRoleTarget;
}

/** The request ID an inline policy's name carries, if the name is exactly `jit-<requestId>`. */
export function requestIdOfPolicyName(policyName: string): string | undefined {
  return JIT_POLICY_NAME.exec(policyName)?.[1];
}

/**
 * What one sweep found; whose inline policies it read in full (names lower-cased: IAM ignores case); and which of
 * the bot's managed policies it could not read, when it listed them all (`policiesUnread` undefined otherwise).
 */
export interface SweepResult {
  found: FoundGrant[];
  usersRead: ReadonlySet<string>;
  policiesUnread: ReadonlySet<string> | undefined;
}

/** One user's or policy's read that failed after its retries. */
interface UserFailure {
  userName: string;
  action: string;
  error: unknown;
}

/** What the sweep of the bot's managed policies found. */
interface ManagedSweep {
  found: FoundGrant[];
  /** ARNs of listed policies whose document or attachments could not be read; undefined when the listing broke. */
  unread: Set<string> | undefined;
}

/**
 * Finds the bot's grants from IAM alone (no store, no memo), so the reconciler can revoke expired ones even after
 * Redis lost everything. Two kinds of artefact, both named `jit-<requestId>`, neither belonging to a role, so one
 * sweep covers every IAM-kind role; a found policy is attributed to the role whose statements it holds, if any.
 *
 * - The managed policies under `/jit/` that grants make now: ListPolicies (Scope `Local`, PathPrefix `/jit/`,
 *   paged), then for each, GetPolicyVersion of its default version (the expiry) and ListEntitiesForPolicy (the
 *   users it is attached to). One attached to no one (a crash between creating and attaching, or between
 *   detaching and deleting) is reported without a user, so the reconciler deletes it once it is expired.
 * - The inline policies that bot versions before managed policies wrote, until their grants are all gone:
 *   ListUsers (paged), ListUserPolicies for each user, GetUserPolicy only for names exactly `jit-<requestId>`.
 *
 * Failures: if the first page of ListPolicies or of ListUsers cannot be read, or no user at all could be read, it
 * throws (retryable for throttling and 5xx). Otherwise a policy or user (or a later page) that fails is logged and
 * skipped, and what was found elsewhere is returned: one slow read must not hide every other expired grant.
 */
export class IamGrantSweep {
  constructor(
    private readonly iam: IAMClient,
    private readonly run: AwsCallRunner,
    private readonly settings: SweepSettings,
    private readonly logger: Logger,
  ) {}

  async find(roles: readonly IamRoleRef[]): Promise<SweepResult> {
    const managed = await this.findManaged(roles);
    const inline = await this.findInline(roles);
    return { found: [...managed.found, ...inline.found], usersRead: inline.usersRead, policiesUnread: managed.unread };
  }

  private async findManaged(roles: readonly IamRoleRef[]): Promise<ManagedSweep> {
    const found: FoundGrant[] = [];
    const unread = new Set<string>();
    const failures: UserFailure[] = [];
    let policiesSeen = 0;

    const { listingCut } = await walkPages(
      'iam:ListPolicies',
      (marker) =>
        this.run('iam:ListPolicies', undefined, () =>
          this.iam.send(
            new ListPoliciesCommand({
              Scope: 'Local',
              PathPrefix: JIT_POLICY_PATH,
              MaxItems: this.settings.pageSize,
              Marker: marker,
            }),
          ),
        ),
      // PathPrefix also matches deeper paths (`/jit/other/`): only `/jit/` itself is the bot's.
      (page) =>
        (page.Policies ?? []).filter(
          (policy) =>
            policy.Path === JIT_POLICY_PATH &&
            policy.Arn !== undefined &&
            requestIdOfPolicyName(policy.PolicyName ?? '') !== undefined,
        ),
      this.settings.concurrency,
      async (policy) => {
        policiesSeen += 1;
        const outcome = await this.sweepPolicy(policy, roles);
        if ('failure' in outcome) {
          failures.push(outcome.failure);
          unread.add(policy.Arn ?? '');
        } else found.push(...outcome.found);
      },
    );

    this.logFailures(failures, `sweep could not read ${failures.length} of the bot's managed policies`, 'policies');
    if (listingCut !== undefined) {
      this.logger.warn(
        { provider: PROVIDER, policiesSeen, err: listingCut },
        "sweep could not list every one of the bot's managed policies; those listed so far were swept",
      );
    }
    this.logger.info(
      { provider: PROVIDER, policiesSeen, failed: failures.length, found: found.length },
      `sweep read ${policiesSeen - failures.length} of ${policiesSeen} jit managed policies`,
    );
    return { found, unread: listingCut === undefined ? unread : undefined };
  }

  /** One line for all the reads that failed: a permission narrowed to some users would otherwise log one per user a minute. */
  private logFailures(failures: readonly UserFailure[], what: string, field: 'policies' | 'users'): void {
    const [first] = failures;
    if (first === undefined) return;
    this.logger.warn(
      {
        provider: PROVIDER,
        failed: failures.length,
        [field]: failures
          .slice(0, 20)
          .map((failure) => `${failure.userName} (${failure.action}: ${awsErrorCode(failure.error) ?? 'error'})`),
        err: first.error,
      },
      `${what}; the next sweep tries again`,
    );
  }

  /** One managed policy's grants: one per user it is attached to, or one without a user when it is attached to none. */
  private async sweepPolicy(
    policy: Policy,
    roles: readonly IamRoleRef[],
  ): Promise<{ found: FoundGrant[] } | { failure: UserFailure }> {
    const arn = policy.Arn ?? '';
    const policyName = policy.PolicyName ?? '';
    const requestId = requestIdOfPolicyName(policyName) ?? '';
    let document: unknown;
    try {
      const answer = await this.run('iam:GetPolicyVersion', requestId, () =>
        this.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId })),
      );
      document = parsePolicyDocument(answer.PolicyVersion?.Document);
    } catch (error) {
      if (isNotFound(error)) return { found: [] };
      return { failure: { userName: arn, action: 'iam:GetPolicyVersion', error } };
    }
    const users: string[] = [];
    try {
      const pages = iamPages((marker) =>
        this.run('iam:ListEntitiesForPolicy', requestId, () =>
          this.iam.send(
            new ListEntitiesForPolicyCommand({
              PolicyArn: arn,
              EntityFilter: 'User',
              MaxItems: this.settings.pageSize,
              Marker: marker,
            }),
          ),
        ),
      );
      for await (const page of pages) {
        users.push(...(page.PolicyUsers ?? []).flatMap((user) => (user.UserName === undefined ? [] : [user.UserName])));
      }
    } catch (error) {
      if (isNotFound(error)) return { found: [] };
      return { failure: { userName: arn, action: 'iam:ListEntitiesForPolicy', error } };
    }
    const where = `managed policy ${JIT_POLICY_PATH}${policyName}`;
    if (users.length === 0) {
      return {
        found: [
          foundGrant({ policyArn: arn, description: `${where}, attached to no IAM user` }, requestId, document, roles),
        ],
      };
    }
    return {
      found: users.map((userName) =>
        foundGrant(
          { userName, policyArn: arn, description: `${where} attached to IAM user ${userName}` },
          requestId,
          document,
          roles,
        ),
      ),
    };
  }

  private async findInline(roles: readonly IamRoleRef[]): Promise<{ found: FoundGrant[]; usersRead: Set<string> }> {
    const found: FoundGrant[] = [];
    const failures: UserFailure[] = [];
    const read = new Set<string>();
    let usersSeen = 0;

    const { listingCut } = await walkPages(
      'iam:ListUsers',
      (marker) =>
        this.run('iam:ListUsers', undefined, () =>
          this.iam.send(new ListUsersCommand({ MaxItems: this.settings.pageSize, Marker: marker })),
        ),
      (page) => (page.Users ?? []).map((user) => user.UserName).filter((name) => name !== undefined),
      this.settings.concurrency,
      async (userName) => {
        usersSeen += 1;
        const outcome = await this.sweepUser(userName, roles);
        if ('failure' in outcome) failures.push(outcome.failure);
        else {
          read.add(userName.toLowerCase());
          found.push(...outcome.found);
        }
      },
    );

    this.logFailures(failures, `sweep could not read the inline policies of ${failures.length} IAM user(s)`, 'users');
    if (listingCut !== undefined) {
      this.logger.warn(
        { provider: PROVIDER, usersSeen, err: listingCut },
        'sweep could not list every IAM user; the users listed so far were swept',
      );
    }
    const [firstFailure] = failures;
    if (read.size === 0 && firstFailure !== undefined) throw awsFailure(firstFailure.error, firstFailure.action);

    this.logger.info(
      { provider: PROVIDER, usersSeen, usersRead: read.size, failed: failures.length, found: found.length },
      `sweep read ${read.size} of ${usersSeen} IAM users and found ${found.length} jit inline policies`,
    );
    return { found, usersRead: read };
  }

  /** One user's `jit-<requestId>` policies; a user or policy deleted meanwhile is simply not there. */
  private async sweepUser(
    userName: string,
    roles: readonly IamRoleRef[],
  ): Promise<{ found: FoundGrant[] } | { failure: UserFailure }> {
    const names: string[] = [];
    try {
      const pages = iamPages((marker) =>
        this.run('iam:ListUserPolicies', undefined, () =>
          this.iam.send(
            new ListUserPoliciesCommand({ UserName: userName, MaxItems: this.settings.pageSize, Marker: marker }),
          ),
        ),
      );
      for await (const page of pages) names.push(...(page.PolicyNames ?? []));
    } catch (error) {
      if (isNotFound(error)) return { found: [] };
      return { failure: { userName, action: 'iam:ListUserPolicies', error } };
    }

    const found: FoundGrant[] = [];
    for (const policyName of names) {
      const requestId = requestIdOfPolicyName(policyName);
      if (requestId === undefined) continue;
      let text: string | undefined;
      try {
        const answer = await this.run('iam:GetUserPolicy', requestId, () =>
          this.iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: policyName })),
        );
        text = answer.PolicyDocument;
      } catch (error) {
        if (isNotFound(error)) continue;
        return { failure: { userName, action: 'iam:GetUserPolicy', error } };
      }
      found.push(
        foundGrant(
          { userName, description: `inline policy ${policyName} on IAM user ${userName}` },
          requestId,
          parsePolicyDocument(text),
          roles,
        ),
      );
    }
    return { found };
  }
}

/** Where a found policy is: the user it is on or attached to, and for a managed policy its ARN. */
interface PolicyPlace {
  userName?: string;
  policyArn?: string;
  description: string;
}

/**
 * What the sweep reports for one policy. `spec` is enough for `revoke` (kind, request ID, and in the memo the user
 * and for a managed policy its ARN); its role is the one whose statements the document holds at its own expiry,
 * else `roleId` is empty and the target is read back from the document. `spec.expiresAt` is 0 when the document
 * names no expiry (`expiresAt` undefined).
 */
function foundGrant(
  place: PolicyPlace,
  requestId: string,
  document: unknown,
  roles: readonly IamRoleRef[],
): FoundGrant {
  const { userName, policyArn, description } = place;
  const expiresAt = policyDocumentExpiry(document);
  const role =
    expiresAt === undefined
      ? undefined
      : roles.find((candidate) =>
          isDeepStrictEqual(
            document,
            timeBoundPolicy(grantedStatements(candidate.parsed, requestId) ?? [], expiryTimestamp(expiresAt)),
          ),
        );
  return {
    requestId,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    spec: {
      requestId,
      roleId: role?.roleId ?? '',
      target: role?.target ?? targetOfDocument(document, requestId),
      principal: { slackUserId: '', identities: userName === undefined ? {} : { aws: userName } },
      expiresAt: expiresAt ?? 0,
      memo: {
        ...(userName !== undefined && { userName }),
        ...(policyArn !== undefined && { policyArn }),
      },
    },
    description,
  };
}

/**
 * Walks a paged IAM listing, visiting each page's items a few at a time. The first page failing throws (nothing
 * could be swept); a later one ends the walk and is returned, so the items listed so far are still swept.
 */
async function walkPages<Page extends IamPage, Item>(
  action: string,
  listPage: (marker: string | undefined) => Promise<Page>,
  itemsOf: (page: Page) => Item[],
  concurrency: number,
  visit: (item: Item) => Promise<void>,
): Promise<{ listingCut?: unknown }> {
  const pages = iamPages(listPage);
  let firstPage = true;
  for (;;) {
    let next: IteratorResult<Page, void>;
    try {
      next = await pages.next();
    } catch (error) {
      if (firstPage) throw awsFailure(error, action);
      return { listingCut: error };
    }
    if (next.done === true) return {};
    firstPage = false;
    await forEachLimited(itemsOf(next.value), concurrency, visit);
  }
}
