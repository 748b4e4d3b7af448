/**
 * Every refusal the domain can give, by code. The Slack layer turns a code (and its details) into a sentence
 * the person can act on; operators see the code in the log.
 */
export type DomainErrorCode =
  | 'unknown_role'
  | 'role_not_requestable'
  | 'invalid_duration'
  | 'duration_too_long'
  | 'duration_too_short'
  | 'missing_reason'
  | 'reason_too_long'
  | 'unknown_request'
  | 'not_allowed'
  | 'self_approval'
  | 'already_approved_by_you'
  | 'invalid_state'
  | 'concurrent_update'
  /** A click on something other than the request's stored approval message (an old copy, a forged payload). */
  | 'stale_click'
  /** The request or click comes from a workspace or organisation outside `settings.allowedTeams`. */
  | 'foreign_team'
  /** A deactivated, restricted or guest account tried to decide. */
  | 'inactive_account'
  /** The text after `/jit` could not be understood. */
  | 'invalid_command'
  | 'missing_ticket'
  | 'too_many_requests';

/** Structured details that make a refusal specific; every field is optional so each code takes what it needs. */
export interface DomainErrorDetails {
  roleId?: string;
  requestId?: string;
  requestableRoleIds?: string[];
  input?: string;
  limit?: string;
  state?: string;
  action?: string;
}

/** A refusal by the domain: nothing was changed. */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: DomainErrorDetails = {},
  ) {
    super(message);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/**
 * A provider's failure to grant, revoke or verify. `retryable` says whether trying again can help (throttling,
 * 5xx, timeouts) or not (the bot lacks permission, the principal does not exist, a cloud limit is reached).
 */
export class CloudProviderError extends Error {
  override readonly name = 'CloudProviderError';

  constructor(
    readonly provider: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
