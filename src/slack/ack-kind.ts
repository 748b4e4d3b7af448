import type { AckKind } from '../lib/metrics';

/**
 * What kind of request Slack sent, from its parsed body: a slash command, a button click (`block_actions`), a
 * modal (`view_submission`/`view_closed`), an Events API callback, or anything else.
 */
export function ackKindOf(body: unknown): AckKind {
  if (typeof body !== 'object' || body === null) return 'other';
  const { command, type } = body as { command?: unknown; type?: unknown };
  if (typeof command === 'string') return 'command';
  switch (type) {
    case 'block_actions':
      return 'action';
    case 'view_submission':
    case 'view_closed':
      return 'view';
    case 'event_callback':
      return 'event';
    default:
      return 'other';
  }
}

/**
 * {@link ackKindOf} for a raw HTTP body: form-encoded (`command=…`, or `payload=<JSON>` for interactions) or JSON
 * (Events API). Anything unreadable is `other`; this never throws.
 */
export function ackKindOfRawBody(rawBody: string, contentType: string | undefined): AckKind {
  try {
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(rawBody);
      if (form.has('command')) return 'command';
      const payload = form.get('payload');
      return payload === null ? 'other' : ackKindOf(JSON.parse(payload));
    }
    return ackKindOf(JSON.parse(rawBody));
  } catch {
    return 'other';
  }
}
