import { isDeepStrictEqual } from 'node:util';
import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { Clock } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { awsErrorCode, awsFailure, isNotFound, isTransientAwsError } from './aws-errors';
import { parseRoleArn, roleSessionName } from './aws-target';
import { iamPages } from './iam-pages';
import type { AwsCallRunner } from './identity-center';
import { parsePolicyDocument } from './jit-managed-policy';
import {
  denyUntil,
  pruneRevokedSessions,
  REVOKED_POLICY_PREFIX,
  REVOKED_SESSIONS_POLICY,
  type RevokedSessions,
  readRevokedSessions,
  revokedSessionsDocument,
  userIdPattern,
} from './revoked-session-policy';

const PROVIDER = 'aws';

/** A role's MaxSessionDuration when GetRole does not say (AWS's default, 1 hour). */
const DEFAULT_MAX_SESSION_SECONDS = 3_600;

/** How many times a deny is written again when reading it back shows another writer replaced it meanwhile. */
const WRITE_ROUNDS = 3;

/** What became of one revoked session's deny; `reason` is the sentence for the operators when it failed. */
export type SessionDenyOutcome =
  | { kind: 'denied'; until: number }
  | { kind: 'not-needed'; reason: string }
  | { kind: 'failed'; reason: string; action: string };

/**
 * Ends the live sessions of revoked `assume-role` grants. Deleting a grant's policy only stops new `AssumeRole`
 * calls; credentials already issued keep working until they expire, up to the role's MaxSessionDuration. So at
 * revocation the bot adds the grant's session (`aws:userid` like `*:jit-<requestId>`, since every grant requires
 * its own session name) to the inline policy {@link REVOKED_SESSIONS_POLICY} of the target role, denying it every
 * action until it could have ended by itself; the sweep removes what has ended ({@link prune}).
 *
 * Best effort: the grant is already gone when this runs, so only a transient failure (throttling, 5xx) throws (a
 * retryable error, so the revocation job runs again). Anything else (the role gone or in an account the bot's
 * credentials do not reach, a permission missing, the role's inline policies full) is logged as an error naming
 * what to do, and returned.
 *
 * Writes of one role's policy are serialised within the process, and each is read back: IAM has no conditional
 * write, so two bot processes rewriting the same role's policy at the same instant could lose one session; the
 * read-back catches the common case (the other write landed first) and writes again.
 */
export class RevokedSessionDenies {
  /** Per role name (lower-cased, as IAM compares them): the last queued write, so writes never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly iam: IAMClient,
    private readonly run: AwsCallRunner,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Denies the request's session on the role until it could have ended; see the class for failures. */
  async deny(roleArn: string, requestId: string, expiresAt: number): Promise<SessionDenyOutcome> {
    const sessionName = roleSessionName(requestId);
    const outcome = await this.tryDeny(roleArn, requestId, expiresAt);
    const context = { provider: PROVIDER, requestId, roleArn, sessionName };
    if (outcome.kind === 'denied') {
      const until = new Date(outcome.until).toISOString();
      this.logger.info({ ...context, until }, `denied session ${sessionName} on ${roleArn} until ${until}`);
    } else if (outcome.kind === 'not-needed') {
      this.logger.warn(context, outcome.reason);
    } else {
      this.logger.error({ ...context, missing: outcome.action }, outcome.reason);
    }
    return outcome;
  }

  /**
   * Removes the denies that have ended from the roles' `jit-revoked-*` inline policies, deleting a policy left
   * empty. Never throws: a role that cannot be read or written is logged, and its expired denies (which deny
   * nothing any more) wait for the next sweep or revocation.
   */
  async prune(roleArns: readonly string[]): Promise<void> {
    const names = [...new Set(roleArns.map((arn) => roleNameOf(arn)))];
    for (const roleName of names) {
      try {
        await this.pruneRole(roleName);
      } catch (caught) {
        const { action, cause } =
          caught instanceof RoleCallError ? caught : { action: 'iam:ListRolePolicies', cause: caught };
        this.logger.warn(
          { provider: PROVIDER, roleName, action, code: awsErrorCode(cause), err: cause },
          `could not remove ended session denies from role ${roleName}: ${awsFailure(cause, action).message}`,
        );
      }
    }
  }

  private async tryDeny(roleArn: string, requestId: string, expiresAt: number): Promise<SessionDenyOutcome> {
    const roleName = roleNameOf(roleArn);
    const sessionName = roleSessionName(requestId);
    let role: { Arn?: string; MaxSessionDuration?: number } | undefined;
    try {
      role = (await this.run('iam:GetRole', requestId, () => this.iam.send(new GetRoleCommand({ RoleName: roleName }))))
        .Role;
    } catch (error) {
      if (isNotFound(error)) {
        return {
          kind: 'not-needed',
          reason: `No role named ${roleName} in the bot's AWS account, so session ${sessionName} was not denied: if the role was deleted, its sessions ended with it; if it is in another account than the bot's credentials reach, its sessions last until they end by themselves (the role's MaxSessionDuration).`,
        };
      }
      return failure(error, 'iam:GetRole', roleArn, sessionName, undefined);
    }
    if (role?.Arn?.toLowerCase() !== roleArn.toLowerCase()) {
      return {
        kind: 'not-needed',
        reason: `The bot's AWS account holds ${role?.Arn ?? 'a role without an ARN'}, not ${roleArn}: session ${sessionName} was not denied and lasts until it ends by itself (the role's MaxSessionDuration). Grant roles of the bot's own account to deny sessions at revocation.`,
      };
    }
    const now = this.clock.now();
    const until = denyUntil(now, expiresAt, role.MaxSessionDuration ?? DEFAULT_MAX_SESSION_SECONDS);
    if (until <= now) return { kind: 'not-needed', reason: `session ${sessionName} has ended by itself already` };
    const userId = userIdPattern(sessionName);
    return this.serialised(roleName, async (): Promise<SessionDenyOutcome> => {
      try {
        for (let round = 1; round <= WRITE_ROUNDS; round += 1) {
          const stored = await this.read(roleName, REVOKED_SESSIONS_POLICY, requestId);
          const next = pruneRevokedSessions(stored, now);
          next.sessions.set(userId, Math.max(next.sessions.get(userId) ?? 0, until));
          const document = revokedSessionsDocument(next);
          if (isDeepStrictEqual(document, revokedSessionsDocument(stored))) return { kind: 'denied', until };
          await this.write(roleName, REVOKED_SESSIONS_POLICY, document, requestId);
          // Read back: another process may have replaced the policy from what it read before this write.
          const written = await this.read(roleName, REVOKED_SESSIONS_POLICY, requestId);
          if ((written.sessions.get(userId) ?? 0) >= until) return { kind: 'denied', until };
        }
      } catch (error) {
        if (!(error instanceof RoleCallError)) throw error;
        return failure(error.cause, error.action, roleArn, sessionName, until);
      }
      return {
        kind: 'failed',
        action: 'iam:PutRolePolicy',
        reason: `The deny of session ${sessionName} on ${roleArn} was replaced ${WRITE_ROUNDS} times by concurrent writes: revoke the role's active sessions in the IAM console if it must end now.`,
      };
    });
  }

  private async pruneRole(roleName: string): Promise<void> {
    const names: string[] = [];
    try {
      const pages = iamPages((marker) =>
        this.run('iam:ListRolePolicies', undefined, () =>
          this.iam.send(new ListRolePoliciesCommand({ RoleName: roleName, Marker: marker })),
        ),
      );
      for await (const page of pages) names.push(...(page.PolicyNames ?? []));
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const policyName of names.filter((name) => name.startsWith(REVOKED_POLICY_PREFIX))) {
      await this.serialised(roleName, async () => {
        const stored = await this.read(roleName, policyName, undefined);
        const next = pruneRevokedSessions(stored, this.clock.now());
        const document = revokedSessionsDocument(next);
        if (isDeepStrictEqual(document, revokedSessionsDocument(stored))) return;
        await this.write(roleName, policyName, document, undefined);
        this.logger.info(
          { provider: PROVIDER, roleName, policyName, ended: stored.sessions.size - next.sessions.size },
          `removed ended session denies from ${policyName} on role ${roleName}`,
        );
      });
    }
  }

  /** The policy's content; empty when it (or its role) is gone. */
  private async read(roleName: string, policyName: string, requestId: string | undefined): Promise<RevokedSessions> {
    try {
      const answer = await this.run('iam:GetRolePolicy', requestId, () =>
        this.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
      );
      return readRevokedSessions(parsePolicyDocument(answer.PolicyDocument));
    } catch (error) {
      if (isNotFound(error)) return { sessions: new Map(), others: [] };
      throw new RoleCallError('iam:GetRolePolicy', error);
    }
  }

  /** Writes the policy, or deletes it when nothing is left to deny (one already gone counts as deleted). */
  private async write(
    roleName: string,
    policyName: string,
    document: Record<string, unknown> | undefined,
    requestId: string | undefined,
  ): Promise<void> {
    if (document !== undefined) {
      try {
        await this.run('iam:PutRolePolicy', requestId, () =>
          this.iam.send(
            new PutRolePolicyCommand({
              RoleName: roleName,
              PolicyName: policyName,
              PolicyDocument: JSON.stringify(document),
            }),
          ),
        );
      } catch (error) {
        throw new RoleCallError('iam:PutRolePolicy', error);
      }
      return;
    }
    try {
      await this.run('iam:DeleteRolePolicy', requestId, () =>
        this.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw new RoleCallError('iam:DeleteRolePolicy', error);
    }
  }

  /** Runs `work` after every earlier write of the same role in this process has finished. */
  private serialised<T>(roleName: string, work: () => Promise<T>): Promise<T> {
    const key = roleName.toLowerCase();
    const result = (this.queues.get(key) ?? Promise.resolve()).then(work, work);
    const settled = result.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return result;
  }
}

/** A failed call on the role's inline policies, with the IAM action it needed. */
class RoleCallError extends Error {
  constructor(
    readonly action: string,
    override readonly cause: unknown,
  ) {
    super(`${action} failed`);
  }
}

/** The role's name without its path: what the IAM role APIs take. */
function roleNameOf(roleArn: string): string {
  const { roleName } = parseRoleArn(roleArn);
  return roleName.slice(roleName.lastIndexOf('/') + 1);
}

/** A deny that AWS refused, with the sentence the operators need; transient failures are thrown for a retry. */
function failure(
  error: unknown,
  action: string,
  roleArn: string,
  sessionName: string,
  until: number | undefined,
): SessionDenyOutcome {
  // Transient trouble that outlasted the call's retries: the revocation job runs again (the grant is already gone).
  if (isTransientAwsError(error)) throw awsFailure(error, action);
  const failedAction = action;
  const code = awsErrorCode(error);
  const lasts = `session ${sessionName} on ${roleArn} was not denied and keeps working until its credentials expire${until === undefined ? " (at most the role's MaxSessionDuration)" : ` (at the latest ${new Date(until).toISOString()})`}`;
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    return {
      kind: 'failed',
      action: failedAction,
      reason: `The bot's AWS identity may not call ${failedAction} on ${roleArn}, so the ${lasts}: add ${failedAction} on that role to the bot's IAM policy (docs/clouds/aws.md, section 1), or revoke the role's active sessions in the IAM console.`,
    };
  }
  if (code === 'LimitExceeded') {
    return {
      kind: 'failed',
      action: failedAction,
      reason: `The inline policies of ${roleArn} would exceed IAM's 10,240 characters per role ("Role policy size"), so the ${lasts}: remove or shorten the role's other inline policies (attach managed policies instead), or lower its MaxSessionDuration so denies end sooner; revoke the role's active sessions in the IAM console if this one must end now.`,
    };
  }
  return {
    kind: 'failed',
    action: failedAction,
    reason: `${awsFailure(error, failedAction).message} The ${lasts}.`,
  };
}
