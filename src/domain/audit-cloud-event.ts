import type { AuditEntry } from './audit-event';
import { auditRecord } from './audit-format';

/** Every audit CloudEvent's `type` starts with this (reverse-DNS style, as CloudEvents recommends). */
export const AUDIT_EVENT_TYPE_PREFIX = 'dev.jit-access-bot.';

/**
 * Every `type` an audit CloudEvent can have, with what it records. State changes are `request.*`; notes are named
 * by their kind. Receivers may route on these; a new one is only ever added, never renamed.
 */
export const AUDIT_EVENT_TYPES = {
  'request.created': 'a request was filed (from none to pending)',
  'request.approval-recorded': 'one approval of several was recorded; the request still waits (pending to pending)',
  'request.approved': 'the request was approved (by people, an auto-approve rule or break-glass)',
  'request.denied': 'an approver denied the request',
  'request.cancelled': 'the requester withdrew the request',
  'request.timed-out': 'nobody decided within the approval timeout',
  'request.granted': 'the cloud grant was made; access is active',
  'request.updated': 'an active grant changed: extended, early revocation asked for, access re-asserted',
  'request.failed': 'granting failed for good',
  'request.expired': 'the grant reached its expiry and was revoked',
  'request.revoked': 'the grant was revoked before its expiry',
  'request.applied': "an extension request's time was added to the grant it extends",
  refusal: 'someone was refused (not allowed, self-approval, a forged or stale click)',
  drift: 'the cloud and the store disagree about a grant',
  alert: 'the operators were alerted',
  reconciled: 'the reconciler revoked something past its expiry',
  rollback: "a bundle's grant failed part-way and one role already granted was taken back",
  review: 'an admin reviewed break-glass access',
  policy: 'the policy file was reloaded, or a changed one refused',
} as const;
export type AuditEventType = keyof typeof AUDIT_EVENT_TYPES;

/** A CloudEvents 1.0 event in structured mode (JSON), carrying one audit entry. */
export interface AuditCloudEvent {
  specversion: '1.0';
  /** The audit entry's stream ID: unique per `source`, the same on every redelivery. */
  id: string;
  source: string;
  /** `AUDIT_EVENT_TYPE_PREFIX` and one of `AUDIT_EVENT_TYPES`. */
  type: string;
  /** When the audited thing happened (the entry's `at`), RFC 3339. */
  time: string;
  /** The request ID; absent for a note that names no request. */
  subject?: string;
  datacontenttype: 'application/json';
  /** The audit entry, with the same keys as a line of the audit export. */
  data: ReturnType<typeof auditRecord>;
}

/** The `type` suffix of one entry (see `AUDIT_EVENT_TYPES`). */
export function auditEventType(entry: AuditEntry): string {
  if (entry.type !== 'transition') return entry.type;
  if (entry.from === 'none') return 'request.created';
  if (entry.from === entry.to) return entry.to === 'pending' ? 'request.approval-recorded' : 'request.updated';
  return entry.to === 'active' ? 'request.granted' : `request.${entry.to}`;
}

/** The CloudEvent for one audit entry; `source` names this bot deployment (e.g. `jit-access-bot/<prefix>`). */
export function toAuditCloudEvent(entry: AuditEntry, source: string): AuditCloudEvent {
  return {
    specversion: '1.0',
    id: entry.streamId,
    source,
    type: `${AUDIT_EVENT_TYPE_PREFIX}${auditEventType(entry)}`,
    time: new Date(entry.at).toISOString(),
    ...(entry.requestId !== undefined && { subject: entry.requestId }),
    datacontenttype: 'application/json',
    data: auditRecord(entry),
  };
}
