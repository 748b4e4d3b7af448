/**
 * Every refusal the domain can give, by code. The domain says only what was refused and the facts behind it
 * (the details); the Slack layer (`slack/domain-text.ts`) turns a code and its details into a sentence the
 * person can act on, and operators see the code and details in the log and the audit trail.
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
  /** The text of a command could not be understood. */
  | 'invalid_command'
  | 'missing_ticket'
  | 'too_many_requests'
  /** An approver chose a duration longer than asked for, or shorter than the policy's minimum. */
  | 'invalid_approval_duration'
  /** A scheduled start that is not a point in time the bot can read. */
  | 'invalid_start'
  /** A scheduled start that has already passed. */
  | 'start_in_past'
  /** A scheduled start further ahead than the role's `maxLeadTime`. */
  | 'start_too_far'
  /** A bundle that cannot be asked for as one request (too many roles, or a break-glass role among them). */
  | 'invalid_bundle';

/** What people do that the domain can refuse on a decision (Approve or Deny). */
export type DecisionAction = 'approve' | 'deny';

/** What is refused when the request or click comes from a workspace the policy does not serve. */
export type OriginAction = 'request access' | 'extend access' | DecisionAction;

/** Who the policy names: Slack user IDs and user group IDs, plain. */
export interface NamedPeople {
  users: string[];
  usergroups: string[];
}

/**
 * A new request (not an extension) as asked for, so a refusal can show how to ask again with the same role and
 * duration.
 */
export interface NewRequestAsked {
  durationMs: number;
}

/** Why someone may not do what they tried. */
export type NotAllowedDetails =
  /** Only the holder of the access may extend it. */
  | { situation: 'not-holder'; action: 'extend'; requestId: string; requesterId: string }
  /** Only the requester may cancel. */
  | { situation: 'not-requester'; action: 'cancel'; requestId: string; requesterId: string }
  /**
   * Only the requester or an approver of the role may revoke the access, see the request, or cancel an approved
   * request before its scheduled start.
   */
  | {
      situation: 'not-requester-or-approver';
      action: 'revoke' | 'status' | 'cancel';
      requestId: string;
      requesterId: string;
      roleId: string;
    }
  /** Only the policy's admins (`settings.admins`) may do this. */
  | { situation: 'not-admin'; action: 'retry-revocation' | 'review'; requestId: string }
  /** Only the policy's admins may export the audit trail; `admins` says who they are. */
  | { situation: 'not-admin'; action: 'audit'; admins: NamedPeople }
  /** The request's role has left the policy, so nobody can decide it. */
  | { situation: 'role-removed'; action: DecisionAction; requestId: string; roleId: string }
  /** The actor is not among the role's approvers. */
  | { situation: 'not-approver'; action: DecisionAction; requestId: string; roleId: string }
  /** The actor is among the role's `escalateTo` people, who may decide only once the request is escalated. */
  | {
      situation: 'not-yet-escalated';
      action: DecisionAction;
      requestId: string;
      roleId: string;
      /** When the request escalates (epoch ms). */
      escalatesAt: number;
    };

/** Why the request is in the wrong state for what was tried. */
export type InvalidStateDetails =
  /** An extension cannot itself be extended; `extends` is the request to extend instead. */
  | { situation: 'is-extension'; action: 'extend'; requestId: string; extends: string }
  /** The access is not active (or is ending now), so there is nothing to extend. */
  | { situation: 'nothing-to-extend'; action: 'extend'; requestId: string; state: string }
  /** An extension of this request already waits for approval or is being applied. */
  | {
      situation: 'extension-waiting';
      action: 'extend';
      requestId: string;
      extensionId: string;
      extensionState: 'pending' | 'approved';
    }
  /** The request is no longer pending, so it cannot be cancelled. */
  | { situation: 'not-pending'; action: 'cancel'; requestId: string; state: string }
  /** The access is being granted right now. */
  | { situation: 'being-granted'; action: 'revoke'; requestId: string; state: string }
  /** The request is still pending: no access to revoke; `byRequester` when the requester could cancel it. */
  | { situation: 'still-pending'; action: 'revoke'; requestId: string; state: string; byRequester: boolean }
  /** The request has ended; no access to revoke, no revocation to retry. */
  | { situation: 'not-active'; action: 'revoke' | 'retry-revocation'; requestId: string; state: string }
  /** The request was not break-glass access, so there is nothing to review. */
  | { situation: 'not-break-glass'; action: 'review'; requestId: string }
  /** The request was decided (or ended) already. */
  | { situation: 'already-decided'; action: DecisionAction; requestId: string; state: string }
  /** The request's approval deadline has passed. */
  | { situation: 'decision-timed-out'; action: DecisionAction; requestId: string; state: 'timed-out' }
  /** The state machine does not allow the move from `state` to `to`. */
  | { situation: 'transition'; requestId: string; state: string; to: string };

/** The facts behind each refusal, by code: what the Slack layer needs to write the sentence. */
export interface DomainErrorDetailsByCode {
  unknown_role: { roleId: string; requestableRoleIds: string[] };
  role_not_requestable:
    | { roleId: string; requestableRoleIds: string[] }
    /** The policy no longer lets the holder request the role, so their grant cannot be extended. */
    | { roleId: string; requestId: string; action: 'extend' };
  invalid_duration: {
    /** As typed. */
    input: string;
    /** Not in the duration syntax; zero; longer than anything parsed; neither a duration back nor a date. */
    problem: 'syntax' | 'zero' | 'too-long' | 'not-a-point-in-time';
  };
  duration_too_long:
    | { roleId: string; input?: string; limit: string; durationMs: number; maxMs: number }
    /** An extension: the grant already lasts `usedMs` of the role's `maxMs` in total. */
    | { roleId: string; requestId: string; limit: string; usedMs: number; maxMs: number; action: 'extend' };
  duration_too_short: { roleId: string; input?: string; limit: string; durationMs: number; minMs: number };
  missing_reason: { roleId: string; newRequest?: NewRequestAsked };
  reason_too_long: { roleId: string; limit: string; length: number };
  missing_ticket: { roleId: string; ticketPattern: string; newRequest?: NewRequestAsked };
  unknown_request: { requestId: string };
  not_allowed: NotAllowedDetails;
  self_approval: { requestId: string; roleId: string; action: DecisionAction };
  already_approved_by_you: { requestId: string; approvalsMissing: number };
  invalid_state: InvalidStateDetails;
  concurrent_update: { requestId: string };
  /** `requestId` absent when the click named none; `channel` is where the real approval message is, if any. */
  stale_click: { requestId?: string; action?: string; channel?: string };
  foreign_team: { action: OriginAction; origin?: string; allowedCount: number };
  inactive_account: { requestId: string; action: DecisionAction; account: 'unknown' | 'deactivated' | 'guest' };
  /** Thrown by a front end for input it could not parse; `explanation` is that front end's own sentence. */
  invalid_command: { explanation: string };
  too_many_requests: { limit: string; open: number };
  invalid_approval_duration: {
    requestId: string;
    roleId: string;
    /** What the approver chose. */
    durationMs: number;
    problem: 'longer-than-requested' | 'below-minimum';
    requestedMs: number;
    minMs: number;
  };
  invalid_start: {
    /** As typed. */
    input: string;
    /** Not `YYYY-MM-DD HH:MM` nor ISO 8601 with an offset; or a date or time that does not exist (2026-02-30). */
    problem: 'syntax' | 'no-such-time';
  };
  /** `startsAt` and `now` are epoch milliseconds. */
  start_in_past: { startsAt: number; now: number };
  /** `limit` is the role's `maxLeadTime` as people type it. */
  start_too_far: { roleId: string; startsAt: number; now: number; limit: string; maxLeadMs: number };
  invalid_bundle: /** More roles than one request may bundle (`limit`). */
    | { problem: 'too-many'; roleIds: string[]; limit: number }
    /** `roleId` is break-glass access, which is asked for alone. */
    | { problem: 'break-glass'; roleIds: string[]; roleId: string };
}

export type DomainErrorDetails<C extends DomainErrorCode = DomainErrorCode> = DomainErrorDetailsByCode[C];

/** A refusal by the domain: nothing was changed. The message is technical (code and details), for logs. */
export class DomainError<C extends DomainErrorCode = DomainErrorCode> extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: C,
    readonly details: DomainErrorDetailsByCode[C],
  ) {
    super(`${code}: ${describeDetails(details)}`);
  }

  /** The request the refusal is about, when it names one. */
  get requestId(): string | undefined {
    const { details } = this;
    return 'requestId' in details && typeof details.requestId === 'string' ? details.requestId : undefined;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** Details as `key=value` pairs for logs and audit lines, e.g. `requestId=k7m2xq9d state=active`. */
export function describeDetails(details: object): string {
  return Object.entries(details)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
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
