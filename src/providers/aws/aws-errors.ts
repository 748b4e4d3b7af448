import { CloudProviderError } from '../../domain/errors';
import { isTransientHttpStatus, providerError } from '../retry';

const PROVIDER = 'aws';

/** Error codes (with any `Exception` suffix removed) that say "slow down", whatever the service. */
const THROTTLING_CODES = new Set([
  'Throttling',
  'Throttled',
  'TooManyRequests',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceeded',
  'BandwidthLimitExceeded',
  'TransactionInProgress',
]);

/**
 * Codes that a moment later may not repeat: AWS-side failures, IAM's `ConcurrentModification`, and Identity
 * Center's `ConflictException` ("another operation is in progress on this account and permission set").
 */
const PASSING_CODES = new Set([
  'ServiceFailure',
  'ServiceUnavailable',
  'InternalServer',
  'InternalFailure',
  'InternalError',
  'ConcurrentModification',
  'Conflict',
  'RequestTimeout',
  'TimeoutError',
  'ExpiredToken',
]);

/** Socket-level failures Node reports before any HTTP answer. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENOTFOUND',
]);

/** Codes meaning AWS refused the bot's own credentials. */
const CREDENTIAL_CODES = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClient',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidSignature',
]);

/**
 * What to do about the IAM quota each call can hit, for the requester and the operators alike (IAM and AWS STS
 * quotas page); AWS's own message, quoted before it, names the quota and its value in this account.
 */
const QUOTA_ADVICE: Readonly<Record<string, string>> = {
  'iam:AttachUserPolicy':
    "The IAM user already has as many managed policies attached as the account's quota \"Managed policies per user\" allows (10 by default, up to 20 through Service Quotas), and each of the bot's grants is one: end another of this person's grants or detach a policy from the user, or ask the AWS administrators to raise the quota. Nothing was granted.",
  'iam:CreatePolicy':
    'The account holds as many customer managed policies as its quota "Customer managed policies per account" allows (1,500 by default; raise it through Service Quotas), and each of the bot\'s grants is one while it lasts: the AWS administrators must delete unused policies or raise the quota. Nothing was granted.',
  'iam:CreatePolicyVersion':
    'The managed policy already has the 5 versions AWS allows, and the bot could not remove an old one: try the extension again.',
  'iam:PutUserPolicy':
    "A user's inline policies may hold 2,048 characters together: remove unused inline policies from the user.",
};

interface AwsLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The AWS error code, the same for modelled and unmodelled errors: the SDK names IAM's `NoSuchEntity` as
 * `NoSuchEntityException` but leaves `Throttling` as is, so the suffix is dropped.
 */
export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as AwsLikeError;
  const raw = typeof code === 'string' && NETWORK_CODES.has(code) ? code : typeof name === 'string' ? name : undefined;
  return raw?.replace(/Exception$/, '');
}

function httpStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as AwsLikeError).$metadata?.httpStatusCode : undefined;
}

/** AWS's own words about the failure, shortened: they go to Slack. */
function awsMessage(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as AwsLikeError).message : undefined;
  const text = typeof message === 'string' && message.trim() !== '' && message !== 'UnknownError' ? message.trim() : '';
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** True for failures worth another try within the same call: throttling, 5xx, conflicts, network trouble. */
export function isTransientAwsError(error: unknown): boolean {
  if (error instanceof CloudProviderError) return false;
  const code = awsErrorCode(error);
  if (code !== undefined && (THROTTLING_CODES.has(code) || PASSING_CODES.has(code) || NETWORK_CODES.has(code))) {
    return true;
  }
  return isTransientHttpStatus(httpStatus(error));
}

/**
 * True when AWS refused the call for its rate (a `THROTTLING_CODES` code, or HTTP 429): the pace slows for every
 * process instead of this call using up an attempt.
 */
export function isThrottlingAwsError(error: unknown): boolean {
  if (error instanceof CloudProviderError) return false;
  const code = awsErrorCode(error);
  return (code !== undefined && THROTTLING_CODES.has(code)) || httpStatus(error) === 429;
}

/** True when IAM refuses to delete something still in use (a policy still attached, or with other versions). */
export function isDeleteConflict(error: unknown): boolean {
  return awsErrorCode(error) === 'DeleteConflict';
}

/** True when IAM says the name is taken (CreatePolicy of a policy that exists). */
export function isAlreadyExists(error: unknown): boolean {
  return awsErrorCode(error) === 'EntityAlreadyExists';
}

/** True when AWS says the thing named does not exist (an IAM user or policy, an identity store user...). */
export function isNotFound(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code === 'NoSuchEntity' || code === 'ResourceNotFound';
}

/**
 * Turns a failed AWS call into a `CloudProviderError` people can act on. `action` is the IAM action the call
 * needs (e.g. `iam:PutUserPolicy`), named when the bot's own identity lacks it.
 */
export function awsFailure(error: unknown, action: string): CloudProviderError {
  if (error instanceof CloudProviderError) return error;
  const code = awsErrorCode(error);
  const said = awsMessage(error);
  const because = said === '' ? '' : `: ${said}`;

  if (isTransientAwsError(error)) {
    return providerError(
      PROVIDER,
      `AWS kept answering ${action} with ${code ?? `HTTP ${httpStatus(error) ?? 'no answer'}`} (throttled or unavailable); the bot will try again shortly.`,
      true,
      error,
    );
  }
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    // AWS's own text names the bot's ARN and the resource; the sentence below says all people need.
    return providerError(
      PROVIDER,
      `The bot's AWS identity is not allowed to call ${action}: add ${action} to the bot's IAM policy (see docs/clouds/aws.md).`,
      false,
      error,
    );
  }
  if (code === 'LimitExceeded') {
    return providerError(
      PROVIDER,
      `AWS refused ${action} because an IAM quota is reached${because}. ${QUOTA_ADVICE[action] ?? 'See the IAM quotas in docs/clouds/aws.md.'}`,
      false,
      error,
    );
  }
  if (code === 'MalformedPolicyDocument') {
    return providerError(
      PROVIDER,
      `AWS refused the role's policy as malformed${because}. Fix the role's target.statements in the policy file.`,
      false,
      error,
    );
  }
  if (code !== undefined && CREDENTIAL_CODES.has(code)) {
    return providerError(
      PROVIDER,
      `AWS did not accept the bot's credentials (${code}) when calling ${action}: check the bot's AWS credentials.`,
      false,
      error,
    );
  }
  if (code === 'CredentialsProviderError') {
    return providerError(
      PROVIDER,
      `The bot found no AWS credentials to call ${action}: give it credentials through the standard AWS chain (environment, profile, or instance/task role).`,
      false,
      error,
    );
  }
  const status = httpStatus(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return providerError(PROVIDER, `AWS refused ${action} (${code ?? `HTTP ${status}`})${because}.`, false, error);
  }
  // No HTTP answer and nothing recognisable: most likely the network; the job may retry.
  return providerError(PROVIDER, `${action} failed (${code ?? 'unknown error'})${because}.`, true, error);
}
