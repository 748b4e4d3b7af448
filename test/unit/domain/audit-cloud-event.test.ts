import { AUDIT_EVENT_TYPES, auditEventType, toAuditCloudEvent } from '../../../src/domain/audit-cloud-event';
import { AUDIT_NOTE_KINDS, type AuditEntry } from '../../../src/domain/audit-event';
import { signAuditEvent } from '../../../src/jobs/audit-webhook-client';

const at = Date.UTC(2025, 0, 31, 8, 0, 0);
const transition = (from: string, to: string): AuditEntry =>
  ({
    type: 'transition',
    streamId: '1738310400000-0',
    requestId: 'k7m2xq9d',
    from,
    to,
    actor: 'U1',
    reason: 'r',
    at,
  }) as AuditEntry;

describe('audit CloudEvents', () => {
  it('documents an event type for every kind of audit note', () => {
    for (const kind of AUDIT_NOTE_KINDS) expect(Object.keys(AUDIT_EVENT_TYPES)).toContain(kind);
  });

  it('names each kind of entry with a documented type', () => {
    const cases: [AuditEntry, string][] = [
      [transition('none', 'pending'), 'request.created'],
      [transition('pending', 'pending'), 'request.approval-recorded'],
      [transition('pending', 'approved'), 'request.approved'],
      [transition('approved', 'active'), 'request.granted'],
      [transition('active', 'active'), 'request.updated'],
      [transition('active', 'expired'), 'request.expired'],
      [transition('active', 'revoked'), 'request.revoked'],
      [{ type: 'refusal', streamId: '1-0', actor: 'U2', reason: 'not an admin', at }, 'refusal'],
    ];
    for (const [entry, type] of cases) {
      expect(auditEventType(entry)).toBe(type);
      expect(Object.keys(AUDIT_EVENT_TYPES)).toContain(type);
    }
  });

  it('leaves out the subject of a note that names no request', () => {
    const event = toAuditCloudEvent(
      { type: 'refusal', streamId: '1-0', actor: 'U2', reason: 'x', at },
      'jit-access-bot/jit',
    );
    expect(event).not.toHaveProperty('subject');
    expect(event).toMatchObject({ specversion: '1.0', id: '1-0', type: 'dev.jit-access-bot.refusal' });
  });

  it('signs "<t>.<body>" with HMAC-SHA256 (a known vector)', () => {
    expect(signAuditEvent('secret', '{}', 1700000000)).toBe(
      't=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163',
    );
  });
});
