/** How a grant spec reads for AWS: the role's target, the IAM user it names, the policy written, the DM's instructions. */
import type { GrantSpec } from '../../domain/ports';
import { providerError } from '../retry';
import {
  type AwsTarget,
  awsTargetSchema,
  grantedStatements,
  type IamStatement,
  isIamUserName,
  type PolicyDocument,
  parseRoleArn,
  roleSessionName,
  timeBoundPolicy,
} from './aws-target';

const PROVIDER = 'aws';

/** The role's AWS target, or a refusal naming what is wrong with it. */
export function parseTarget(spec: GrantSpec): AwsTarget {
  const parsed = awsTargetSchema.safeParse(spec.target);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`,
    );
    throw providerError(PROVIDER, `The role's AWS target is invalid: ${problems.join('; ')}`, false);
  }
  return parsed.data;
}

/** The inline policy of an IAM grant: the role's statements, each bounded by the expiry. */
export function policyFor(
  target: Exclude<AwsTarget, { kind: 'identity-center' }>,
  expiry: string,
  requestId: string,
): PolicyDocument {
  const statements: IamStatement[] = grantedStatements(target, requestId) ?? [];
  return timeBoundPolicy(statements, expiry);
}

/**
 * The IAM user to clean up or check: the one named in the principals map, else the person's email; undefined
 * when there is none that could be an IAM user name, since then no grant can have been written.
 */
export function iamUserNameIfAny(spec: GrantSpec): string | undefined {
  const userName = spec.principal.identities.aws ?? spec.principal.email;
  return userName !== undefined && isIamUserName(userName) ? userName : undefined;
}

/** The IAM user named in the policy's principals map, else the person's email; refuses when neither can be. */
export function iamUserName(spec: GrantSpec): string {
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

/** The refusal for an IAM user that does not exist. */
export function missingUser(spec: GrantSpec, userName: string, cause?: unknown) {
  return providerError(
    PROVIDER,
    `There is no IAM user named "${userName}": add \`aws: <IAM user name>\` for Slack user ${spec.principal.slackUserId} under \`principals\` in the policy file.`,
    false,
    cause,
  );
}

/**
 * How to use an `assume-role` grant. The console's Switch Role names the session after the IAM user and cannot be
 * told otherwise, so AWS refuses it under the session-name condition: the DM says so rather than offer the link.
 */
export function assumeRoleInstructions(roleArn: string, requestId: string, userName: string, expiry: string): string {
  const { accountId, roleName } = parseRoleArn(roleArn);
  const session = roleSessionName(requestId);
  return [
    `Your IAM user \`${userName}\` may assume \`${roleArn}\` until ${expiry}, as the session \`${session}\` only (AWS may take a few minutes to apply it).`,
    `From the AWS CLI:\n\`\`\`aws sts assume-role --role-arn ${roleArn} --role-session-name ${session}\`\`\``,
    `The console's Switch Role cannot name the session, so AWS refuses it for this access (role ${roleName} in ${accountId}): use the CLI, or open the console with the CLI session's credentials through the AWS federation sign-in endpoint.`,
    `When this access ends or is revoked, the bot denies the session \`${session}\` on the role, so credentials already issued stop working at once instead of lasting up to the role's MaxSessionDuration.`,
  ].join('\n');
}
