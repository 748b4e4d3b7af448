import type { Job } from 'bullmq';
import { toAuditCloudEvent } from '../../domain/audit-cloud-event';
import type { AuditEntry } from '../../domain/audit-event';
import type { Alerter, Clock } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { type AuditWebhookTarget, type DeliveryOutcome, deliverAuditEvent } from '../audit-webhook-client';

/** Entries read from the stream at a time. */
const PAGE = 100;
/** One run sends at most this many, then ends so shutdown never waits long; the next run goes on. */
const MAX_PER_RUN = 500;
/** After the receiver refused an event and the operators were alerted, further refusals are only logged this long. */
export const AUDIT_ALERT_WINDOW_MS = 60 * 60_000;

export type AuditDeliveryCount = 'delivered' | 'rejected' | 'failed';

export interface AuditWebhookDeps {
  /** The webhook in force now, undefined when the policy sets none. @throws when its secret variable is unset */
  target: () => AuditWebhookTarget | undefined;
  /** The CloudEvents `source` of this deployment. */
  source: string;
  /** The audit stream as far as the forwarder reads it. */
  stream: { after(streamId: string, count: number): Promise<AuditEntry[]> };
  cursor: {
    /** Where to go on from; set to the end of the stream when no webhook has run before (a reload added it). */
    startAtEndIfUnset(): Promise<string>;
    advance(streamId: string): Promise<void>;
    mayAlert(windowMs: number): Promise<boolean>;
  };
  alerter: Alerter;
  countDelivery: (outcome: AuditDeliveryCount) => void;
  clock: Clock;
  logger: Logger;
  /** The HTTP delivery (replaced in unit tests). */
  deliver?: typeof deliverAuditEvent;
}

/**
 * Sends the audit entries after the cursor to the webhook, one CloudEvent per entry, in stream order, moving the
 * cursor past each only once the receiver answered 2xx (or refused it for good). A crash at any point leaves the
 * cursor at or before the first entry not yet delivered, so nothing is lost; at worst the entry in flight is sent
 * again, with the same `id`. A retryable failure fails the job, which BullMQ retries with backoff from the same
 * entry, so every request's events (indeed the whole trail) arrive in order.
 */
export function auditWebhookProcessor(deps: AuditWebhookDeps) {
  const deliver = deps.deliver ?? deliverAuditEvent;
  return async (job: Job): Promise<void> => {
    const target = deps.target();
    if (target === undefined) return;
    let cursor = await deps.cursor.startAtEndIfUnset();
    let sent = 0;
    while (sent < MAX_PER_RUN) {
      const page = await deps.stream.after(cursor, Math.min(PAGE, MAX_PER_RUN - sent));
      if (page.length === 0) return;
      for (const entry of page) {
        const event = toAuditCloudEvent(entry, deps.source);
        const outcome = await deliver(target, event, deps.clock.now());
        if (outcome.kind === 'retry') {
          deps.countDelivery('failed');
          deps.logger.warn(
            { eventId: event.id, eventType: event.type, status: outcome.status, attempt: job.attemptsMade + 1 },
            `audit event not delivered, retrying with backoff: ${outcome.error}`,
          );
          throw new Error(`audit event ${event.id} not delivered: ${outcome.error}`);
        }
        if (outcome.kind === 'rejected') await skipRejected(deps, event, outcome);
        else deps.countDelivery('delivered');
        await deps.cursor.advance(entry.streamId);
        cursor = entry.streamId;
        sent += 1;
      }
    }
  };
}

/** A refusal no retry can change: logged in full, the operators alerted (not more than hourly), and skipped. */
async function skipRejected(
  deps: AuditWebhookDeps,
  event: ReturnType<typeof toAuditCloudEvent>,
  outcome: Extract<DeliveryOutcome, { kind: 'rejected' }>,
): Promise<void> {
  deps.countDelivery('rejected');
  deps.logger.error(
    { eventId: event.id, eventType: event.type, status: outcome.status, event },
    `the audit webhook refused an event with HTTP ${outcome.status}; it is skipped (still in the audit trail)`,
  );
  if (!(await deps.cursor.mayAlert(AUDIT_ALERT_WINDOW_MS))) return;
  await deps.alerter.alert({
    kind: 'audit-event-rejected',
    details: {
      status: outcome.status,
      eventId: event.id,
      eventType: event.type,
      ...(event.subject !== undefined && { requestId: event.subject }),
    },
  });
}
