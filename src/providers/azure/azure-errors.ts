/** ARM and Entra ID error classification: whether a retry can help, and the sentence people can act on. */
import { isRestError } from '@azure/core-rest-pipeline';
import { CloudProviderError } from '../../domain/errors';
import { isTransientHttpStatus, parseRetryAfter, providerError } from '../retry';

export const PROVIDER = 'azure';

/** The ARM permissions each call needs, named in the message when the bot's identity lacks one. */
export const READ_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/read';
export const WRITE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/write';
export const DELETE_ASSIGNMENTS = 'Microsoft.Authorization/roleAssignments/delete';
export const READ_SCHEDULES = 'Microsoft.Authorization/roleAssignmentSchedules/read';
export const READ_SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests/read';
export const WRITE_SCHEDULE_REQUESTS = 'Microsoft.Authorization/roleAssignmentScheduleRequests/write';

const NETWORK_ERROR_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/** What one cloud call is, for logs and for error messages people can act on. */
export interface CallContext {
  /** The request the call serves; absent for the sweep, which serves none in particular. */
  requestId?: string;
  /** What the bot was doing, as the end of "while the bot tried to ...". */
  doing: string;
  /** The permission this call needs, named in the message when the bot's identity lacks it. */
  permission: string;
  scope?: string;
  /** How to give the bot that permission; the bot's ARM role by default. */
  remedy?: string;
}

export function statusOf(error: unknown): number | undefined {
  if (isRestError(error)) return error.statusCode;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The wait an ARM or Graph answer asked for in its `Retry-After` header, in ms. */
export function retryAfterOf(error: unknown): number | undefined {
  if (!isRestError(error)) return undefined;
  return parseRetryAfter(error.response?.headers.get('retry-after'));
}

/**
 * ARM (or Graph) refused the call for its rate: HTTP 429, except `RetryableErrorDueToAnotherOperation`, which a
 * resource provider answers with 429 when the resource is locked by another operation rather than for the rate
 * (Microsoft Learn, "Understand how Azure Resource Manager throttles requests", error code).
 */
export function isThrottled(error: unknown): boolean {
  if (error instanceof CloudProviderError) return false;
  return statusOf(error) === 429 && codeOf(error) !== 'RetryableErrorDueToAnotherOperation';
}

/** Throttling, 5xx and network failures: worth another try soon. Token failures from Entra count by status. */
export function isTransient(error: unknown): boolean {
  if (error instanceof CloudProviderError) return false;
  const status = statusOf(error);
  if (status !== undefined) return isTransientHttpStatus(status);
  const code = codeOf(error);
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

/** Turns what a call still failed with into a sentence people can act on, retryable only if time can help. */
export function classify(error: unknown, context: CallContext): CloudProviderError {
  if (error instanceof CloudProviderError) return error;
  const name = (error as { name?: unknown } | undefined)?.name;
  const status = statusOf(error);
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const at = context.scope !== undefined ? ` at ${context.scope}` : '';

  if (name === 'CredentialUnavailableError') {
    return providerError(
      PROVIDER,
      'The bot found no Azure credential: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or ' +
        'AZURE_CLIENT_CERTIFICATE_PATH), or run it with a managed or workload identity.',
      false,
      error,
    );
  }
  if (
    name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError' ||
    name === 'AuthenticationRequiredError'
  ) {
    // @azure/identity reports most MSAL failures as AuthenticationRequiredError with only a message; an answer
    // from Entra ID carries an AADSTS code or an OAuth2 error, which no retry changes.
    const refused = /AADSTS\d+|invalid_client|unauthorized_client|invalid_grant|invalid_request/.test(message);
    if (isTransient(error) || (name === 'AuthenticationRequiredError' && !refused)) {
      return providerError(
        PROVIDER,
        'Entra ID could not issue the bot a token just now; the bot will try again.',
        true,
        error,
      );
    }
    return providerError(
      PROVIDER,
      "Entra ID refused the bot's own Azure credential: check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client " +
        'secret or certificate (it may have expired).',
      false,
      error,
    );
  }
  if (isTransient(error)) {
    return providerError(
      PROVIDER,
      `Azure is throttling or failing${status !== undefined ? ` (HTTP ${status})` : ''} while the bot tried to ` +
        `${context.doing}; the bot will try again.`,
      true,
      error,
    );
  }
  if (status === 403 || code === 'AuthorizationFailed' || code === 'Authorization_RequestDenied') {
    const action = /action '([^']+)'/.exec(message)?.[1] ?? context.permission;
    return providerError(
      PROVIDER,
      `The bot's Azure identity is not allowed to ${context.doing}${at}: it needs ${action}. ` +
        (context.remedy ?? "Give it the bot's role from the Azure setup guide at that scope or above."),
      false,
      error,
    );
  }
  if (status === 401) {
    return providerError(
      PROVIDER,
      `Azure did not accept the bot's token (${code ?? 'HTTP 401'}): check that the credential belongs to the ` +
        "subscription's tenant and that the endpoints point at the same cloud.",
      false,
      error,
    );
  }
  switch (code) {
    case 'RoleAssignmentLimitExceeded':
      return providerError(
        PROVIDER,
        `Azure's limit on role assignments is reached${at} (4,000 per subscription): remove unused role ` +
          'assignments, or grant through groups, before trying again.',
        false,
        error,
      );
    case 'PrincipalNotFound':
      return providerError(
        PROVIDER,
        'Entra ID does not know the principal the bot resolved for this person: check azure: <object id> under ' +
          'principals in the policy file (it must be the Object ID of their user). A user created minutes ago may ' +
          'not have replicated yet.',
        false,
        error,
      );
    case 'RoleDefinitionDoesNotExist':
    case 'RoleDefinitionNotFound':
    case 'InvalidRoleDefinitionId':
      return providerError(
        PROVIDER,
        `Azure has no such role definition for${at}: check roleDefinitionId in this role's target in the policy ` +
          'file (a custom role must be assignable at that scope).',
        false,
        error,
      );
    case 'RoleAssignmentRequestPolicyValidationFailed':
      return providerError(
        PROVIDER,
        `The PIM settings of this role${at} refused the assignment (${message}): allow active assignments of ` +
          'this length without approval or MFA in PIM, or use kind: role-assignment.',
        false,
        error,
      );
    default:
      break;
  }
  if (
    status === 404 ||
    code === 'SubscriptionNotFound' ||
    code === 'ResourceGroupNotFound' ||
    code === 'InvalidScope'
  ) {
    return providerError(
      PROVIDER,
      `Azure found no scope${at} (${code ?? 'HTTP 404'}): check the scope in this role's target in the policy file.`,
      false,
      error,
    );
  }
  return providerError(
    PROVIDER,
    `Azure refused to ${context.doing}${at}: ${code !== undefined ? `${code}: ` : ''}${message}`,
    false,
    error,
  );
}
