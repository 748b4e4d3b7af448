import type { GrantRefusal } from './grant-refusal';
import type { PrincipalIdentities } from './policy';

/** Every state a request can be in; the allowed moves between them live in `request-machine.ts`. */
export const REQUEST_STATES = [
  'pending',
  'approved',
  'active',
  'expired',
  'revoked',
  'denied',
  'cancelled',
  'timed-out',
  'failed',
  /** An extension request whose extra time was added to the grant it extends. */
  'applied',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** One approver's yes. */
export interface Approval {
  userId: string;
  at: number;
  /** The shorter duration this approver chose; absent when they approved the duration asked for. */
  durationMs?: number;
  /**
   * On a bundle: the roles this yes counts towards (those the approver approves, or the auto-approved ones for
   * `system:auto-approve`). Absent: it counts for the request's first role, as on every one-role request.
   */
  roles?: string[];
}

/** Where the approval message for a request lives in Slack. */
export interface MessageRef {
  channel: string;
  ts: string;
}

/**
 * A request for access, as stored. Times are epoch milliseconds. `version` increases with every change and is
 * what compare-and-set checks.
 */
export interface AccessRequest {
  id: string;
  /** The role asked for; on a bundle, its first role. */
  roleId: string;
  /** On a bundle (see `bundle.ts`): every role asked for, `roleId` first. Absent on a one-role request. */
  bundle?: string[];
  requesterId: string;
  teamId: string;
  reason: string;
  durationMs: number;
  state: RequestState;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** When a still-pending request times out; never after `startsAt`. */
  approvalDeadline: number;
  /**
   * A scheduled start (a maintenance window): access is granted then rather than at approval, and ends at
   * `startsAt + durationMs`. Absent for access that starts as soon as it is approved.
   */
  startsAt?: number;
  approvals: Approval[];
  /**
   * What the requester asked for, kept when the approvers granted less: `durationMs` is then the shortest duration
   * an approver chose, and that is what is granted.
   */
  requestedDurationMs?: number;
  /** When the request was escalated to its role's `escalateTo` people because nobody had decided. */
  escalatedAt?: number;
  /** Who moved the request out of pending (an approver, or a system actor for auto-approval and timeouts). */
  decidedBy?: string;
  decidedAt?: number;
  activatedAt?: number;
  /**
   * What was granted, copied from the policy at grant time so the grant can be revoked even if the role is
   * later edited or removed.
   */
  grant?: GrantRecord;
  /** On a bundle: the grant records of its roles after the first, by role ID (the first is `grant`). */
  bundleGrants?: Record<string, GrantRecord>;
  expiresAt?: number;
  /** Set when someone ends an active grant early; the revoke job then finishes it as `revoked`. */
  revocationRequestedBy?: string;
  revocationRequestedAt?: number;
  endedAt?: number;
  endedBy?: string;
  /** Why granting failed, as plain text (the audit trail's reason; a provider's own message). */
  failureReason?: string;
  /** When the policy refused the grant: the coded refusal, from which the Slack layer writes the sentence. */
  grantRefusal?: GrantRefusal;
  /** What the denying approver told the requester, if anything. */
  denialReason?: string;
  /**
   * On an extension request: the ID of the active request whose access it lengthens. Its `durationMs` is then the
   * extra time, and once approved it changes the expiry of that request's grant instead of granting anew.
   */
  extends?: string;
  /** On an extended request: the extension requests already applied, so a retried extension is applied once. */
  extensionsApplied?: string[];
}

/** The provider-facing facts of a grant, kept with the request. */
export interface GrantRecord {
  provider: string;
  target: Readonly<Record<string, unknown>>;
  identities: PrincipalIdentities;
  email?: string;
  /** The provider's own notes from the grant, handed back on revoke. */
  memo?: Readonly<Record<string, string>>;
  /** How to use the access, as the provider said; repeated in the activation DM. */
  instructions?: string;
}

/** Actors that are not people, recorded in the audit log and shown in notices. */
export const SYSTEM_ACTORS = {
  autoApprove: 'system:auto-approve',
  approvalTimeout: 'system:approval-timeout',
  grantJob: 'system:grant',
  expiry: 'system:expiry',
  /** An extension of a role with `selfExtend: true`. */
  selfExtend: 'system:self-extend',
  /** The job that escalates a request nobody decided within the role's `escalateAfter`. */
  escalation: 'system:escalation',
} as const;

export function isSystemActor(actor: string): boolean {
  return actor.startsWith('system:');
}

/** The states in which a request still matters to its requester. */
export const OPEN_STATES: readonly RequestState[] = ['pending', 'approved', 'active'];
