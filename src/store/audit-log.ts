import type { Redis } from 'ioredis';
import { z } from 'zod';
import { REQUEST_STATES } from '../domain/access-request';
import type { AuditEvent } from '../domain/audit-event';
import type { RedisKeys } from './keys';

/** Field/value pairs for XADD, in a fixed order. */
export function encodeAuditEvent(event: AuditEvent): string[] {
  return [
    'requestId',
    event.requestId,
    'from',
    event.from,
    'to',
    event.to,
    'actor',
    event.actor,
    'reason',
    event.reason,
    'at',
    new Date(event.at).toISOString(),
  ];
}

const auditFieldsSchema = z.object({
  requestId: z.string(),
  from: z.union([z.enum(REQUEST_STATES), z.literal('none')]),
  to: z.enum(REQUEST_STATES),
  actor: z.string(),
  reason: z.string(),
  at: z.iso.datetime(),
});

export interface StoredAuditEvent extends AuditEvent {
  /** The stream entry ID: a cursor for reading on. */
  streamId: string;
}

/** Reads the audit stream (oldest first), optionally for one request only. */
export class RedisAuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async read(options: { requestId?: string; count?: number } = {}): Promise<StoredAuditEvent[]> {
    const entries = await this.redis.xrange(this.keys.audit(), '-', '+', 'COUNT', options.count ?? 10_000);
    const events: StoredAuditEvent[] = [];
    for (const [streamId, flat] of entries) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      const parsed = auditFieldsSchema.parse(fields);
      if (options.requestId !== undefined && parsed.requestId !== options.requestId) continue;
      events.push({ ...parsed, at: Date.parse(parsed.at), streamId });
    }
    return events;
  }
}
