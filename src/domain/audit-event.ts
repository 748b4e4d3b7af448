import type { RequestState } from './access-request';

/** One append-only audit record of a state change: from, to, who and why. */
export interface AuditEvent {
  requestId: string;
  from: RequestState | 'none';
  to: RequestState;
  actor: string;
  reason: string;
  at: number;
}

/** What else the audit trail records besides state changes. */
export const AUDIT_NOTE_KINDS = [
  /** The cloud and the store disagree (an artefact the store does not know, a stored grant missing in the cloud). */
  'drift',
  /** People were alerted (a revocation keeps failing, access still there after revocation). */
  'alert',
  /** The reconciler revoked something past its expiry. */
  'reconciled',
  /** Someone was refused (not allowed, self-approval, a forged or stale click). */
  'refusal',
  /** An admin reviewed break-glass access after the fact. */
  'review',
  /** A bundle's grant failed part-way: one role's access already granted was taken back. */
  'rollback',
  /** The policy file was reloaded (what changed), or a changed file was refused (why). */
  'policy',
] as const;
export type AuditNoteKind = (typeof AUDIT_NOTE_KINDS)[number];

/** One append-only audit record that is not a state change. */
export interface AuditNote {
  kind: AuditNoteKind;
  /** Absent when the note is about something no request names. */
  requestId?: string;
  actor: string;
  reason: string;
  at: number;
}

/** Any entry of the audit trail as read back: a state change or a note, with its position in the trail. */
export type AuditEntry =
  | ({ type: 'transition'; streamId: string } & AuditEvent)
  | ({ type: AuditNoteKind; streamId: string } & Omit<AuditNote, 'kind'>);
