import { isSelected } from './approvals';
import type { AuditEntry } from './audit-event';
import { parseDuration } from './duration';
import { DomainError } from './errors';
import type { AuditLog, Clock, PeopleDirectory, PolicySource } from './ports';

/** Where an export starts when it names no time: the last week. */
export const DEFAULT_AUDIT_SINCE = '7d';

/** Most entries one export in Slack carries; past this the admin is pointed to `npm run audit`. */
export const MAX_EXPORT_ENTRIES = 20_000;

export interface AuditServiceDeps {
  auditLog: AuditLog;
  policy: PolicySource;
  directory: PeopleDirectory;
  clock: Clock;
  /** Overrides {@link MAX_EXPORT_ENTRIES} (tests). */
  maxEntries?: number;
}

export interface AuditExportOptions {
  /** Only entries about this request. */
  requestId?: string;
}

/** What an admin asked for: the entries, oldest first, and whether the limit cut them short. */
export interface AuditExport {
  sinceMs: number;
  entries: AuditEntry[];
  /** True when more entries matched than one export carries; `entries` then holds the oldest ones. */
  truncated: boolean;
}

/** Reading the audit trail, for the bot's admins (`settings.admins`). */
export class AuditService {
  constructor(private readonly deps: AuditServiceDeps) {}

  /**
   * The audit entries written at or after `sinceMs`, at most the export limit.
   * @throws DomainError `not_allowed` when the actor is not one of the policy's admins (the refusal is audited).
   */
  async exportFor(actorId: string, sinceMs: number, options: AuditExportOptions = {}): Promise<AuditExport> {
    const admins = this.deps.policy.current().settings.admins;
    if (!(await isSelected(admins, actorId, this.deps.directory))) {
      await this.deps.auditLog.note({
        kind: 'refusal',
        actor: actorId,
        reason: 'audit export refused: not an admin',
        at: this.deps.clock.now(),
      });
      throw new DomainError('not_allowed', {
        situation: 'not-admin',
        action: 'audit',
        admins: { users: [...admins.users], usergroups: [...admins.usergroups] },
      });
    }
    const limit = this.deps.maxEntries ?? MAX_EXPORT_ENTRIES;
    const entries: AuditEntry[] = [];
    for await (const entry of selectAuditEntries(this.deps.auditLog.entries(sinceMs), options)) {
      // Leaving the loop ends the iteration, so a long trail is never read past what is kept.
      if (entries.length === limit) return { sinceMs, entries, truncated: true };
      entries.push(entry);
    }
    return { sinceMs, entries, truncated: false };
  }
}

export interface AuditEntryFilter {
  /** Only entries about this request. */
  requestId?: string;
  /** Only entries up to this time (epoch ms); reading stops at the first later one. */
  untilMs?: number;
}

/** The entries (oldest first, as the trail gives them) that pass the filter, read no further than needed. */
export async function* selectAuditEntries(
  entries: AsyncIterable<AuditEntry>,
  filter: AuditEntryFilter,
): AsyncGenerator<AuditEntry> {
  for await (const entry of entries) {
    if (filter.untilMs !== undefined && entry.at > filter.untilMs) return;
    if (filter.requestId !== undefined && entry.requestId !== filter.requestId) continue;
    yield entry;
  }
}

/** `2025-01-31`, `2025-01-31T08:00`, `2025-01-31T08:00:00.000Z`, `2025-01-31 08:00:00+02:00`. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A point in time as people write it for an export window: a duration back from `now` (`7d`, `12h`, `1d12h`)
 * or an ISO date or date-time (a date alone is midnight UTC; a date-time without an offset is local time).
 * @throws DomainError `invalid_duration` (problem `not-a-point-in-time`)
 */
export function parsePointInTime(text: string, now: number): number {
  const trimmed = text.trim();
  const iso = ISO_TIME.exec(trimmed);
  if (iso) {
    const day = iso[1] ?? '';
    const at = Date.parse(trimmed.replace(' ', 'T'));
    // Date.parse rolls 2025-02-30 over to March; a day that does not read back the same is no day.
    const realDay = Number.isFinite(Date.parse(day)) && new Date(Date.parse(day)).toISOString().startsWith(day);
    if (realDay && Number.isFinite(at)) return at;
  } else if (/^\d+[dhms]/i.test(trimmed)) {
    try {
      return now - parseDuration(trimmed);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }
  throw new DomainError('invalid_duration', { input: text, problem: 'not-a-point-in-time' });
}
