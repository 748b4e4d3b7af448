import type { Redis } from 'ioredis';
import { z } from 'zod';
import { REQUEST_STATES } from '../domain/access-request';
import { AUDIT_NOTE_KINDS, type AuditEntry, type AuditEvent, type AuditNote } from '../domain/audit-event';
import type { AuditLog } from '../domain/ports';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from './keys';

/** Field/value pairs for XADD of a state change, in a fixed order. */
export function encodeAuditEvent(event: AuditEvent): string[] {
  return [
    'type',
    'transition',
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

function encodeAuditNote(note: AuditNote): string[] {
  return [
    'type',
    note.kind,
    ...(note.requestId !== undefined ? ['requestId', note.requestId] : []),
    'actor',
    note.actor,
    'reason',
    note.reason,
    'at',
    new Date(note.at).toISOString(),
  ];
}

const transitionSchema = z.object({
  type: z.literal('transition').default('transition'),
  requestId: z.string(),
  from: z.union([z.enum(REQUEST_STATES), z.literal('none')]),
  to: z.enum(REQUEST_STATES),
  actor: z.string(),
  reason: z.string(),
  at: z.iso.datetime(),
});

const noteSchema = z.object({
  type: z.enum(AUDIT_NOTE_KINDS),
  requestId: z.string().optional(),
  actor: z.string(),
  reason: z.string(),
  at: z.iso.datetime(),
});

export interface StoredAuditEvent extends AuditEvent {
  /** The stream entry ID: a cursor for reading on. */
  streamId: string;
}

/** Any audit entry: a state change or a note, with its stream ID. */
export type StoredAuditEntry = AuditEntry;

/** Page size when reading the stream on. */
const PAGE = 1_000;

/** The audit stream in Redis: state changes are appended by the store's transition script, notes here. */
export class RedisAuditLog implements AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly logger?: Logger,
    /**
     * The stream ID of the last entry a reader still owed them has taken (the audit webhook's cursor), if one is
     * owed: trimming stops there, so retention never drops an entry before it was delivered.
     */
    private readonly deliveredUpTo: () => Promise<string | undefined> = async () => undefined,
  ) {}

  async note(note: AuditNote): Promise<void> {
    await this.redis.xadd(this.keys.audit(), '*', ...encodeAuditNote(note));
    this.logger?.info(
      { auditNote: note },
      `audit ${note.kind}${note.requestId ? ` ${note.requestId}` : ''}: ${note.reason}`,
    );
  }

  /** State changes, oldest first, optionally of one request only. */
  async read(options: { requestId?: string } = {}): Promise<StoredAuditEvent[]> {
    const events: StoredAuditEvent[] = [];
    for await (const entry of this.entries()) {
      if (entry.type !== 'transition') continue;
      if (options.requestId !== undefined && entry.requestId !== options.requestId) continue;
      const { type: _type, ...event } = entry;
      events.push(event);
    }
    return events;
  }

  /** Notes only, oldest first. */
  async notes(options: { requestId?: string; kind?: AuditNote['kind'] } = {}): Promise<StoredAuditEntry[]> {
    const found: StoredAuditEntry[] = [];
    for await (const entry of this.entries()) {
      if (entry.type === 'transition') continue;
      if (options.requestId !== undefined && entry.requestId !== options.requestId) continue;
      if (options.kind !== undefined && entry.type !== options.kind) continue;
      found.push(entry);
    }
    return found;
  }

  /** Every entry at or after `sinceMs`, oldest first, read a page at a time so a long trail streams. */
  async *entries(sinceMs = 0): AsyncGenerator<StoredAuditEntry> {
    let start = sinceMs > 0 ? `${sinceMs}-0` : '-';
    for (;;) {
      const page = await this.redis.xrange(this.keys.audit(), start, '+', 'COUNT', PAGE);
      for (const [streamId, flat] of page) {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
        yield parseEntry(streamId, fields);
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) return;
      start = `(${last[0]}`;
    }
  }

  /** Up to `count` entries written after the entry `streamId` (`0-0` for all), oldest first. */
  async after(streamId: string, count: number): Promise<StoredAuditEntry[]> {
    const page = await this.redis.xrange(this.keys.audit(), `(${streamId}`, '+', 'COUNT', count);
    return page.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      return parseEntry(id, fields);
    });
  }

  /** Drops entries older than the retention, but none not yet delivered; returns how many went. */
  async trim(olderThanMs: number): Promise<number> {
    const retentionFloor = Math.max(0, Math.floor(olderThanMs));
    const delivered = await this.deliveredUpTo();
    // Entries after the cursor are still owed; the first of them has an ID above the cursor's milliseconds.
    const deliveredMs = delivered === undefined ? undefined : Number(delivered.split('-')[0]);
    const floor = deliveredMs === undefined ? retentionFloor : Math.min(retentionFloor, deliveredMs);
    if (floor < retentionFloor) {
      this.logger?.warn(
        { retainedFrom: new Date(floor).toISOString(), retentionUntil: new Date(retentionFloor).toISOString() },
        'audit entries past their retention are kept: the audit webhook has not delivered them yet',
      );
    }
    return this.redis.xtrim(this.keys.audit(), 'MINID', '~', `${floor}-0`);
  }
}

function parseEntry(streamId: string, fields: Record<string, string>): StoredAuditEntry {
  if (fields.type === undefined || fields.type === 'transition') {
    const event = transitionSchema.parse(fields);
    return { ...event, type: 'transition', at: Date.parse(event.at), streamId };
  }
  const note = noteSchema.parse(fields);
  return { ...note, at: Date.parse(note.at), streamId };
}
