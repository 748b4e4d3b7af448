import type { AccessRequest, RequestState } from './access-request';
import type { AuditEvent } from './audit-event';
import { DomainError } from './errors';

/**
 * The one table of allowed state changes. A request moves only along these edges; a move from `pending` to
 * `pending` records one more approval without deciding yet, and `active` to `active` records an early-revoke
 * request that the revoke job then carries out.
 */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = {
  pending: ['pending', 'approved', 'denied', 'cancelled', 'timed-out'],
  // `cancelled`: an approved request whose scheduled start has not come yet.
  approved: ['active', 'failed', 'applied', 'cancelled'],
  active: ['active', 'expired', 'revoked'],
  expired: [],
  revoked: [],
  denied: [],
  cancelled: [],
  'timed-out': [],
  failed: [],
  applied: [],
};

export function canTransition(from: RequestState, to: RequestState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: RequestState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** What a transition changes besides the state. */
export type TransitionPatch = Partial<Omit<AccessRequest, 'id' | 'state' | 'version' | 'createdAt' | 'updatedAt'>>;

export interface TransitionInput {
  to: RequestState;
  actor: string;
  reason: string;
  at: number;
  patch?: TransitionPatch;
}

export interface TransitionResult {
  next: AccessRequest;
  audit: AuditEvent;
}

/**
 * Computes the request after a move and the audit event that records it. Pure: storing both atomically, on
 * condition that nobody changed the request meanwhile, is the store's job.
 * @throws DomainError `invalid_state` when the table does not allow the move.
 */
export function transition(request: AccessRequest, input: TransitionInput): TransitionResult {
  if (!canTransition(request.state, input.to)) {
    throw new DomainError('invalid_state', {
      situation: 'transition',
      requestId: request.id,
      state: request.state,
      to: input.to,
    });
  }
  const next: AccessRequest = {
    ...request,
    ...input.patch,
    state: input.to,
    version: request.version + 1,
    updatedAt: input.at,
  };
  return {
    next,
    audit: {
      requestId: request.id,
      from: request.state,
      to: input.to,
      actor: input.actor,
      reason: input.reason,
      at: input.at,
    },
  };
}
