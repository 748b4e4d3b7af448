import type { RequestState } from './access-request';

/** One append-only audit record: a change to a request, who made it and why. */
export interface AuditEvent {
  requestId: string;
  from: RequestState | 'none';
  to: RequestState;
  actor: string;
  reason: string;
  at: number;
}
