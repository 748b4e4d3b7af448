import { formatDuration } from './duration';

/**
 * Why the policy refuses a grant at grant time (it may have changed since the approval), by code. The Slack
 * layer writes the sentence; the domain stores the code and details with the failed request.
 */
export type GrantRefusalCode =
  /** The role left the policy. */
  | 'role_removed'
  /** The requester is no longer among the role's requesters. */
  | 'requester_not_allowed'
  /** The grant an extension lengthens has ended. */
  | 'extended_access_ended'
  /** With the extension the grant would last longer than the role now allows in total. */
  | 'extension_over_max'
  /** Another change of the extended grant's expiry got there first; deciding again on a fresh read helps. */
  | 'extended_request_changed'
  /** The person's Slack email is not confirmed, and nothing else names them in the cloud. */
  | 'email_unconfirmed'
  /** The policy names people in clouds only through `principals`, and has no entry for the person. */
  | 'principals_required';

export interface GrantRefusalDetailsByCode {
  role_removed: { roleId: string };
  requester_not_allowed: { requesterId: string; roleId: string };
  extended_access_ended: { extendedId: string };
  extension_over_max: { roleId: string; totalMs: number; maxMs: number };
  extended_request_changed: { extendedId: string };
  email_unconfirmed: { userId: string; provider: string; address: string };
  principals_required: { userId: string; provider: string };
}

/** One coded grant refusal: its code with the details that belong to it. */
export type GrantRefusal = {
  [C in GrantRefusalCode]: { code: C; details: GrantRefusalDetailsByCode[C] };
}[GrantRefusalCode];

/** Refusals a retry can overcome; every other grant refusal is permanent. */
const RETRYABLE_REFUSALS: ReadonlySet<GrantRefusalCode> = new Set(['extended_request_changed']);

/**
 * The policy refuses a grant. `retryable` says whether the grant job should try again, as for
 * {@link CloudProviderError}. The message is the plain-text reason kept for the audit trail and the log (plain
 * IDs, no Slack syntax); people see the sentence the Slack layer writes from the refusal.
 */
export class GrantRefused extends Error {
  override readonly name = 'GrantRefused';
  readonly retryable: boolean;

  constructor(readonly refusal: GrantRefusal) {
    super(describeGrantRefusal(refusal));
    this.retryable = RETRYABLE_REFUSALS.has(refusal.code);
  }
}

/** How a refusal's sentence names a person and a literal of the policy file; plain text by default. */
export interface RefusalStyle {
  person(userId: string): string;
  literal(text: string): string;
  /** Text someone typed (a profile email), made safe for where the sentence goes. */
  typed(text: string): string;
}

const PLAIN: RefusalStyle = { person: (id) => id, literal: (text) => text, typed: (text) => text };

/**
 * A grant refusal in a sentence: plain text for the audit trail and logs by default; the Slack layer passes a
 * style that mentions people and marks literals.
 */
export function describeGrantRefusal(refusal: GrantRefusal, style: RefusalStyle = PLAIN): string {
  const { person, literal, typed } = style;
  switch (refusal.code) {
    case 'role_removed':
      return `role ${refusal.details.roleId} is no longer in the policy`;
    case 'requester_not_allowed':
      return `the policy no longer lets ${person(refusal.details.requesterId)} request ${refusal.details.roleId}`;
    case 'extended_access_ended':
      return `the access it extends (request ${refusal.details.extendedId}) has already ended`;
    case 'extension_over_max':
      return `${formatDuration(refusal.details.totalMs)} in total is more than ${refusal.details.roleId} now allows (${formatDuration(refusal.details.maxMs)})`;
    case 'extended_request_changed':
      return `request ${refusal.details.extendedId} changed while it was being extended`;
    case 'email_unconfirmed': {
      const { userId, provider, address } = refusal.details;
      return `Slack has not confirmed the email on ${person(userId)}'s profile (${typed(address)}), so the bot will not use it to name them in ${provider}: confirm it in Slack, or an admin can add ${literal(`${provider}: …`)} or ${literal('email: …')} under principals.${userId} in the policy file.`;
    }
    case 'principals_required': {
      const { userId, provider } = refusal.details;
      return `${person(userId)} has no entry under ${literal('principals')} in the policy file, and this policy names people in clouds only through it (settings.identity: principals), never by their Slack email: an admin must add ${literal(`${provider}: …`)} or ${literal('email: …')} under principals.${userId}.`;
    }
  }
}
