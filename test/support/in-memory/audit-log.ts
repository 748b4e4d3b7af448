import type { AuditEntry, AuditEvent, AuditNote } from '../../../src/domain/audit-event';
import type { AuditLog, Clock } from '../../../src/domain/ports';
import type { StoredAuditEvent } from '../../../src/store/audit-log';

/**
 * An `AuditLog` in an array, read back like the Redis stream: entries get `<ms>-<seq>` stream IDs from the clock
 * (never going backwards, as Redis's do not), `entries(since)` starts at the first ID at or after `since`, and the
 * request store appends its transitions here as the Redis store's script appends them to the stream.
 */
export class InMemoryAuditLog implements AuditLog {
  private readonly trail: AuditEntry[] = [];
  private lastMs = 0;
  private lastSeq = -1;

  constructor(private readonly clock: Clock) {}

  async note(note: AuditNote): Promise<void> {
    const { kind, ...rest } = note;
    this.trail.push({ ...withoutUndefined(rest), type: kind, streamId: this.nextStreamId() });
  }

  /** Appends a state change; the in-memory request store calls it in the same step as the change. */
  appendTransition(event: AuditEvent): void {
    this.trail.push({ ...event, type: 'transition', streamId: this.nextStreamId() });
  }

  async *entries(sinceMs = 0): AsyncGenerator<AuditEntry> {
    // A copy, so entries appended while a caller iterates are not read (a page already fetched would not hold them).
    for (const entry of [...this.trail]) if (streamMs(entry) >= sinceMs) yield { ...entry };
  }

  async trim(olderThanMs: number): Promise<number> {
    const before = this.trail.length;
    const kept = this.trail.filter((entry) => streamMs(entry) >= olderThanMs);
    this.trail.splice(0, this.trail.length, ...kept);
    return before - kept.length;
  }

  /** State changes, oldest first, optionally of one request only (as `RedisAuditLog.read`). */
  async read(options: { requestId?: string } = {}): Promise<StoredAuditEvent[]> {
    return this.trail.flatMap((entry) => {
      if (entry.type !== 'transition') return [];
      if (options.requestId !== undefined && entry.requestId !== options.requestId) return [];
      const { type: _type, ...event } = entry;
      return [event];
    });
  }

  /** Notes only, oldest first (as `RedisAuditLog.notes`). */
  async notes(options: { requestId?: string; kind?: AuditNote['kind'] } = {}): Promise<AuditEntry[]> {
    return this.trail.filter(
      (entry) =>
        entry.type !== 'transition' &&
        (options.requestId === undefined || entry.requestId === options.requestId) &&
        (options.kind === undefined || entry.type === options.kind),
    );
  }

  /** Redis's rule for `*` IDs: the current ms, or the last one with the next sequence number if time has not moved. */
  private nextStreamId(): string {
    const now = this.clock.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq += 1;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }
}

function streamMs(entry: AuditEntry): number {
  return Number(entry.streamId.split('-')[0]);
}

/** Redis stores no field for an absent value; the stream gives back no key for it either. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
