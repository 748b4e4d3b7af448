// Over 400 lines on purpose: the target schema and the documents each kind writes must change together.
import { z } from 'zod';
import {
  type GrantDescription,
  grantEmail,
  missingIdentity,
  type PolicyPrincipal,
  REQUEST_ID_PLACEHOLDER,
} from '../grant-description';

/**
 * AWS's limit on one customer managed policy, in characters without whitespace (IAM and AWS STS quotas:
 * "Managed policy size"). Each grant is its own managed policy, so this is the bound on a role's statements.
 */
export const MANAGED_POLICY_LIMIT = 6_144;

/** The IAM path of every managed policy the bot creates: it marks them as the bot's, and scopes its permissions. */
export const JIT_POLICY_PATH = '/jit/';

const PARTITION = '(aws|aws-cn|aws-us-gov)';
/** IAM names (users, roles, path segments): letters, digits and `+=,.@_-`. */
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):role/((?:[\\w+=,.@-]+/)*)([\\w+=,.@-]{1,64})$`);
const INSTANCE_ARN = new RegExp(`^arn:${PARTITION}:sso:::instance/((?:sso)?ins-[a-zA-Z0-9.-]{16})$`);
const PERMISSION_SET_ARN = new RegExp(
  `^arn:${PARTITION}:sso:::permissionSet/((?:sso)?ins-[a-zA-Z0-9.-]{16})/ps-[a-zA-Z0-9./-]{16}$`,
);
const IDENTITY_STORE_ID = /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const ACCOUNT_ID = /^\d{12}$/;
/** `service:Action`, wildcards allowed, or `*` alone. */
const ACTION = /^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$/;
/** `*`, or an ARN with its six parts (`arn:partition:service:region:account:resource`), wildcards allowed. */
const RESOURCE = /^(\*|arn:[^:\s]+:[^:\s]*:[^:\s]*:[^:\s]*:\S+)$/;
/** `StringEquals`, `DateLessThan`, `ForAnyValue:StringLike`, `ArnLikeIfExists`, `Null`, ... */
const CONDITION_OPERATOR = /^(ForAllValues:|ForAnyValue:)?[A-Za-z]+$/;

const EXPIRY_OPERATOR = 'DateLessThan';
const EXPIRY_KEY = 'aws:CurrentTime';
/** A stand-in expiry of the exact length `expiryTimestamp` produces, to measure documents before any grant. */
const SAMPLE_EXPIRY = '2000-01-01T00:00:00Z';

const ROLE_ARN_EXAMPLE =
  'arn:aws:iam::123456789012:role/ReadOnly (or with a path, arn:aws:iam::123456789012:role/ops/ReadOnly)';

/** Why a string is not an IAM role ARN, as precisely as its shape allows; undefined when it is one. */
function roleArnProblem(value: string): string | undefined {
  if (ROLE_ARN.test(value)) return undefined;
  const parts = value.split(':');
  if (parts[0] === 'arn' && parts.length === 6 && parts[2] === 'iam') {
    const account = parts[4] ?? '';
    const resource = parts[5] ?? '';
    if (!ACCOUNT_ID.test(account)) {
      return `the account ID in roleArn must be 12 digits, got "${account}"; expected e.g. ${ROLE_ARN_EXAMPLE}`;
    }
    if (!resource.startsWith('role/')) {
      return `roleArn must name a role ("role/<name>"), got "${resource}"; expected e.g. ${ROLE_ARN_EXAMPLE}`;
    }
    return `the role name or path in roleArn may hold only letters, digits and +=,.@_- (name at most 64 characters), got "${resource}"`;
  }
  return `must be an IAM role ARN such as ${ROLE_ARN_EXAMPLE}, got "${value}"`;
}

/** One value or a non-empty list of values, each checked by `item`. */
function oneOrMany(item: z.ZodString, what: string) {
  return z.union([item, z.array(item).min(1, { error: `${what} must not be an empty list` })], {
    error: (issue) =>
      issue.code === 'invalid_union' && !Array.isArray(issue.input) && typeof issue.input !== 'string'
        ? `${what} must be a string or a list of strings`
        : undefined,
  });
}

const action = z.string().regex(ACTION, {
  error: (issue) =>
    `each action must be "service:Action" (wildcards allowed) or "*", e.g. "s3:GetObject" or "logs:Describe*"; got ${JSON.stringify(issue.input)}`,
});
const resource = z.string().regex(RESOURCE, {
  error: (issue) =>
    `each resource must be "*" or an ARN such as "arn:aws:s3:::my-bucket/*"; got ${JSON.stringify(issue.input)}`,
});
/** AWS's grammar takes condition values as strings (or booleans): a number written unquoted in YAML is quoted. */
const conditionValue = z.union([z.string(), z.number().transform(String), z.boolean()], {
  error: 'condition values must be strings, numbers or booleans',
});
const condition = z
  .record(
    z.string(),
    z.record(z.string().min(1), z.union([conditionValue, z.array(conditionValue).min(1)]), {
      error:
        'each condition operator maps condition keys to a value or a list, e.g. { "aws:RequestedRegion": "eu-west-1" }',
    }),
  )
  .superRefine((value, ctx) => {
    for (const [operator, keys] of Object.entries(value)) {
      // Checked here rather than as the record's key schema, so the message names the operator.
      if (!CONDITION_OPERATOR.test(operator)) {
        ctx.addIssue({
          code: 'custom',
          path: [operator],
          message: `condition operators look like "StringEquals" or "ForAnyValue:StringLike"; got ${JSON.stringify(operator)}`,
        });
      }
      if (
        operator === EXPIRY_OPERATOR &&
        Object.keys(keys).some((key) => key.toLowerCase() === EXPIRY_KEY.toLowerCase())
      ) {
        ctx.addIssue({
          code: 'custom',
          path: [EXPIRY_OPERATOR, EXPIRY_KEY],
          message: `remove ${EXPIRY_OPERATOR} ${EXPIRY_KEY}: the bot sets it to each grant's expiry`,
        });
      }
    }
  });

/** Names the keys a target of one kind takes when it has others. */
function unknownKeys(kind: string, allowed: string) {
  return (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys' && issue.keys !== undefined
      ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}: an ${kind} target takes ${allowed}`
      : undefined;
}

/** One statement of an identity-based IAM policy, as the role's `target.statements` lists it. */
export const iamStatementSchema = z
  .strictObject(
    {
      Sid: z
        .string()
        .regex(/^[A-Za-z0-9]+$/, { error: 'Sid may hold only letters and digits, e.g. "ReadLogs"' })
        .optional(),
      Effect: z.enum(['Allow', 'Deny'], { error: 'Effect must be "Allow" or "Deny"' }),
      Action: oneOrMany(action, 'Action').optional(),
      NotAction: oneOrMany(action, 'NotAction').optional(),
      Resource: oneOrMany(resource, 'Resource').optional(),
      NotResource: oneOrMany(resource, 'NotResource').optional(),
      Condition: condition.optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}: a statement of a user policy takes Sid, Effect, Action or NotAction, Resource or NotResource, and Condition (Principal belongs only in resource and trust policies)`
          : undefined,
    },
  )
  .superRefine((statement, ctx) => {
    if ((statement.Action === undefined) === (statement.NotAction === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a statement needs exactly one of Action or NotAction' });
    }
    if ((statement.Resource === undefined) === (statement.NotResource === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a statement needs exactly one of Resource or NotResource' });
    }
  });

export type IamStatement = z.infer<typeof iamStatementSchema>;

/** An identity-based policy document, as the bot writes it. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

const iamPolicyTarget = z
  .strictObject(
    {
      kind: z.literal('iam-policy'),
      /** The access itself: written as the managed policy `/jit/jit-<requestId>`, each statement time-bound. */
      statements: z.array(iamStatementSchema).min(1, { error: 'statements must list at least one IAM statement' }),
    },
    { error: unknownKeys('iam-policy', 'kind and statements') },
  )
  .superRefine((target, ctx) => {
    const size = policySize(timeBoundPolicy(target.statements, SAMPLE_EXPIRY));
    if (size > MANAGED_POLICY_LIMIT) {
      ctx.addIssue({
        code: 'custom',
        path: ['statements'],
        message: `the policy document would be ${size} characters with the expiry condition the bot adds, over AWS's limit of ${MANAGED_POLICY_LIMIT} for a managed policy: use fewer statements, wildcards, or several roles`,
      });
    }
  });

const assumeRoleTarget = z.strictObject(
  {
    kind: z.literal('assume-role'),
    /** The role the requester may assume until the expiry. */
    roleArn: z.string().superRefine((value, ctx) => {
      const problem = roleArnProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  },
  { error: unknownKeys('assume-role', 'kind and roleArn') },
);

const identityCenterTarget = z
  .strictObject(
    {
      kind: z.literal('identity-center'),
      instanceArn: z.string().regex(INSTANCE_ARN, {
        error: (issue) =>
          `must be an IAM Identity Center instance ARN such as arn:aws:sso:::instance/ssoins-1234567890abcdef (Identity Center console → Settings); got ${JSON.stringify(issue.input)}`,
      }),
      accountId: z
        .string({
          error:
            'must be the 12-digit AWS account ID in quotes, e.g. accountId: "123456789012" (unquoted, YAML reads a number and drops leading zeros)',
        })
        .regex(ACCOUNT_ID, {
          error: (issue) =>
            `must be the 12-digit AWS account ID, e.g. "123456789012"; got ${JSON.stringify(issue.input)}`,
        }),
      permissionSetArn: z.string().regex(PERMISSION_SET_ARN, {
        error: (issue) =>
          `must be a permission set ARN such as arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef; got ${JSON.stringify(issue.input)}`,
      }),
      /** Found with sso-admin ListInstances when absent. */
      identityStoreId: z
        .string()
        .regex(IDENTITY_STORE_ID, {
          error: (issue) =>
            `must be an identity store ID such as d-906712ab34 (Identity Center console → Settings → Identity source); got ${JSON.stringify(issue.input)}`,
        })
        .optional(),
    },
    {
      error: unknownKeys(
        'identity-center',
        'kind, instanceArn, accountId, permissionSetArn and optionally identityStoreId',
      ),
    },
  )
  .superRefine((target, ctx) => {
    const instance = INSTANCE_ARN.exec(target.instanceArn)?.[2];
    const setInstance = PERMISSION_SET_ARN.exec(target.permissionSetArn)?.[2];
    if (instance !== undefined && setInstance !== undefined && instance !== setInstance) {
      ctx.addIssue({
        code: 'custom',
        path: ['permissionSetArn'],
        message: `the permission set belongs to instance ${setInstance}, not to ${instance} named in instanceArn`,
      });
    }
  });

const KINDS = ['iam-policy', 'assume-role', 'identity-center'] as const;

/** What an AWS role's `target:` may say; `kind` picks how access is granted. */
export const awsTargetSchema = z.discriminatedUnion('kind', [iamPolicyTarget, assumeRoleTarget, identityCenterTarget], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `kind must be one of ${KINDS.join(', ')}; got ${describeKind(issue.input)}`
      : undefined,
});

function describeKind(input: unknown): string {
  const kind = typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined;
  return kind === undefined ? 'no kind' : JSON.stringify(kind);
}

export type AwsTarget = z.infer<typeof awsTargetSchema>;
export type IamPolicyTarget = z.infer<typeof iamPolicyTarget>;
export type AssumeRoleTarget = z.infer<typeof assumeRoleTarget>;
export type IdentityCenterTarget = z.infer<typeof identityCenterTarget>;

/**
 * The name of the managed policy a request's grant creates (under {@link JIT_POLICY_PATH}); also the name of the
 * inline user policy that bot versions before managed policies wrote, which the bot still revokes and sweeps.
 */
export function jitPolicyName(requestId: string): string {
  return `jit-${requestId}`;
}

/** A policy's size as IAM counts it against its quotas: characters of the JSON, whitespace not counted. */
export function policySize(document: PolicyDocument | string): number {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  return text.replace(/\s/g, '').length;
}

/**
 * The expiry as AWS date conditions take it, to the second (rounded down, so access never outlives the request).
 * Always 20 characters, which keeps the size check in the schema exact.
 */
export function expiryTimestamp(expiresAt: number): string {
  return new Date(Math.floor(expiresAt / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The statements with `DateLessThan aws:CurrentTime = expiry` merged into each one's conditions. */
export function timeBoundPolicy(statements: readonly IamStatement[], expiry: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: statements.map((statement) => ({
      ...statement,
      Condition: {
        ...statement.Condition,
        [EXPIRY_OPERATOR]: { ...statement.Condition?.[EXPIRY_OPERATOR], [EXPIRY_KEY]: expiry },
      },
    })),
  };
}

/**
 * The role session name an `assume-role` grant requires: the grant's own, so that its revocation can deny exactly
 * the sessions it allowed (the assumed-role user ID is `<role-id>:<session name>`). STS takes 2 to 64 characters
 * of `[\w+=,.@-]` (AssumeRole API reference, RoleSessionName); the bot's request IDs are far shorter.
 */
export function roleSessionName(requestId: string): string {
  return `jit-${requestId}`;
}

/**
 * The one statement an `assume-role` grant holds, before the expiry is added: `sts:AssumeRole` on the role, only
 * with the grant's session name (`sts:RoleSessionName`, a condition key AWS STS supports in identity policies).
 */
export function assumeRoleStatements(roleArn: string, requestId: string): IamStatement[] {
  return [
    {
      Sid: 'JitAssumeRole',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: roleArn,
      Condition: { StringEquals: { [SESSION_NAME_KEY]: roleSessionName(requestId) } },
    },
  ];
}

/** The condition key that pins the session name of an `assume-role` grant. */
export const SESSION_NAME_KEY = 'sts:RoleSessionName';

/** The statements a request's grant of a target writes, before the expiry is added; undefined for Identity Center. */
export function grantedStatements(target: AwsTarget, requestId: string): IamStatement[] | undefined {
  if (target.kind === 'iam-policy') return target.statements;
  if (target.kind === 'assume-role') return assumeRoleStatements(target.roleArn, requestId);
  return undefined;
}

/** The parts of a valid role ARN that the switch-role link and the CLI need. */
export function parseRoleArn(roleArn: string): { partition: string; accountId: string; roleName: string } {
  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw new Error(`not an IAM role ARN: ${roleArn}`);
  const [, partition = 'aws', accountId = '', path = '', name = ''] = match;
  return { partition, accountId, roleName: `${path}${name}` };
}

const SIGNIN_HOSTS: Readonly<Record<string, string>> = {
  aws: 'signin.aws.amazon.com',
  'aws-us-gov': 'signin.amazonaws-us-gov.com',
  'aws-cn': 'signin.amazonaws.cn',
};

/** The console link that switches a signed-in IAM user to the role (the role's path, if any, is part of its name). */
export function switchRoleUrl(roleArn: string): string {
  const { partition, accountId, roleName } = parseRoleArn(roleArn);
  const name = roleName.split('/').map(encodeURIComponent).join('/');
  return `https://${SIGNIN_HOSTS[partition] ?? SIGNIN_HOSTS.aws}/switchrole?account=${accountId}&roleName=${name}`;
}

/** True when the text can be an IAM user name (the principals map entry, or an email used as one). */
export function isIamUserName(text: string): boolean {
  return IAM_NAME.test(text);
}

/** Actions that let whoever holds them grant themselves or others more access. */
const IAM_POWER_ACTION =
  /^(\*|iam:\*|iam:(put|attach|create|update|add|pass|set|delete)[a-z]*|sts:\*|sso:\*|sso:(create|put|attach)[a-z]*)$/i;

/**
 * Why an AWS target can change IAM itself, or undefined: an `iam-policy` allowing actions such as `iam:*`,
 * `iam:PutUserPolicy`, `iam:PassRole` or `*`. Assumed roles and permission sets are opaque here.
 */
export function awsIamPower(target: Readonly<Record<string, unknown>>): string | undefined {
  const parsed = awsTargetSchema.safeParse(target);
  if (!parsed.success || parsed.data.kind !== 'iam-policy') return undefined;
  for (const statement of parsed.data.statements) {
    if (statement.Effect !== 'Allow' || statement.Action === undefined) continue;
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    const powerful = actions.find((action) => IAM_POWER_ACTION.test(action));
    if (powerful !== undefined) return `its statements allow ${powerful}`;
  }
  return undefined;
}

/**
 * What a grant of this AWS target would create for the person, and as whom: the IAM user from `principals.<user>.aws`
 * or their email for the IAM kinds (as `iamUserName` in the provider), the Identity Center user with their email.
 */
export function describeAwsGrant(
  target: Readonly<Record<string, unknown>>,
  principal: PolicyPrincipal,
): GrantDescription {
  const parsed = awsTargetSchema.parse(target);
  const email = grantEmail(principal);
  if (parsed.kind === 'identity-center') {
    const user = email?.value ?? '<their email>';
    return {
      artefact: `account assignment of permission set ${parsed.permissionSetArn} in account ${parsed.accountId} (instance ${parsed.instanceArn}) to the Identity Center user with email ${user}; the bot removes it at expiry`,
      grantee: email === undefined ? 'nobody yet' : `the Identity Center user with email ${user} (${email.source})`,
      ...(email === undefined && {
        refusal: missingIdentity(principal, 'email: <their Identity Center email>'),
      }),
    };
  }
  const fromMap = principal.mapped !== undefined;
  const userName = principal.mapped ?? email?.value;
  const user = userName ?? '<their IAM user>';
  const what =
    parsed.kind === 'assume-role'
      ? `allowing sts:AssumeRole on ${parsed.roleArn}`
      : `holding the role's ${parsed.statements.length} statement(s)`;
  const artefact = `customer managed policy ${JIT_POLICY_PATH}${jitPolicyName(REQUEST_ID_PLACEHOLDER)} ${what}, attached to IAM user ${user}; AWS ends it at expiry (DateLessThan ${EXPIRY_KEY})`;
  if (userName === undefined) {
    return { artefact, grantee: 'nobody yet', refusal: missingIdentity(principal, 'aws: <IAM user name>') };
  }
  const source = fromMap ? `principals.${principal.slackUserId}.aws` : (email?.source ?? '');
  return {
    artefact,
    grantee: `IAM user ${userName} (${source})`,
    // A Slack email is only known at grant time; the provider checks it then.
    ...((fromMap || principal.email !== undefined) &&
      !isIamUserName(userName) && {
        refusal: `"${userName}" cannot be an IAM user name (letters, digits and +=,.@_-, at most 64 characters): set aws: <IAM user name> under principals.${principal.slackUserId}`,
      }),
  };
}
