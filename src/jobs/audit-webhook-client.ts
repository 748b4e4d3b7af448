import { createHmac } from 'node:crypto';
import type { AuditCloudEvent } from '../domain/audit-cloud-event';

/** The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const AUDIT_SIGNATURE_HEADER = 'X-Jit-Signature';

/** The structured-mode media type of a JSON CloudEvent. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

/** Where and how audit events are sent, resolved from the policy and the environment at each run. */
export interface AuditWebhookTarget {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** What became of one delivery attempt. */
export type DeliveryOutcome =
  /** A 2xx: the receiver has it. */
  | { kind: 'delivered'; status: number }
  /** A 4xx other than 408 and 429: no retry will change the answer; this event is skipped. */
  | { kind: 'rejected'; status: number }
  /** A 408, 429, 5xx, other status, timeout or network error: try again later. */
  | { kind: 'retry'; status?: number; error: string };

/**
 * The signature header's value for `body` sent at `unixSeconds`: the timestamp is signed with the body, so a
 * receiver that refuses old timestamps also refuses replays.
 */
export function signAuditEvent(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** POSTs one audit CloudEvent, signed, and says whether it arrived, must be retried or was refused for good. */
export async function deliverAuditEvent(
  target: AuditWebhookTarget,
  event: AuditCloudEvent,
  nowMs: number,
): Promise<DeliveryOutcome> {
  const body = JSON.stringify(event);
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': CLOUDEVENTS_JSON,
        'user-agent': 'jit-access-bot',
        [AUDIT_SIGNATURE_HEADER]: signAuditEvent(target.secret, body, Math.floor(nowMs / 1000)),
      },
      body,
      // A redirect would turn the POST into a GET on some hops; the URL must name the receiver itself.
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    return { kind: 'retry', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  // Read the body so the connection can be reused; its content does not matter.
  await response.arrayBuffer().catch(() => undefined);
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected', status };
  return { kind: 'retry', status, error: `the receiver answered HTTP ${status}` };
}
