import type { AccessRequest, MessageRef, RequestState } from '../../../src/domain/access-request';
import type { AuditEvent } from '../../../src/domain/audit-event';
import type { CreateOutcome, NoticeContext, NoticeStep, OpenRequestCap, RequestStore } from '../../../src/domain/ports';
import { noticeRecordEntry, noticeStepsDone, parseMessageRef } from '../../../src/store/request-extras';
import { parseStoredRequest } from '../../../src/store/stored-request';
import type { InMemoryAuditLog } from './audit-log';

/** The score a request has in its state index, as `RedisRequestStore` scores it. */
function stateScore(request: AccessRequest): number {
  if (request.state === 'active' && request.expiresAt !== undefined) return request.expiresAt;
  if (request.state === 'pending') return request.approvalDeadline;
  // An approved request waiting for its scheduled start is not stuck until the start has passed.
  if (request.state === 'approved' && request.startsAt !== undefined)
    return Math.max(request.updatedAt, request.startsAt);
  return request.updatedAt;
}

/** A Redis sorted set: member → score, read in (score, member) order as Redis orders ties. */
type SortedSet = Map<string, number>;

function ascending(set: SortedSet | undefined): [string, number][] {
  return [...(set ?? new Map<string, number>())].sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A `RequestStore` in maps that keeps `RedisRequestStore`'s contract step for step: requests stored as JSON and
 * read back through the same parser; compare-and-set on the stored version ('' = must not exist); the old state
 * index is the audit event's `from` (so a wrong `from` leaves a stale index entry that reads filter out, as in
 * Redis); the requester index scored by creation time (newest first, ties by ID descending); the state index scored
 * by expiry / approval deadline / last change; and the audit transition appended in the same step as the change.
 */
export class InMemoryRequestStore implements RequestStore {
  private readonly requests = new Map<string, { version: string; json: string }>();
  private readonly stateIndexes = new Map<RequestState, SortedSet>();
  private readonly requesterIndexes = new Map<string, SortedSet>();
  private readonly approvalMessages = new Map<string, string>();
  /** Each request's notices' record, in the format `RedisRequestStore` keeps it. */
  private readonly noticeRecords = new Map<string, string>();
  private readonly rivals: ((requestId: string) => Promise<void>)[] = [];

  constructor(private readonly audit: InMemoryAuditLog) {}

  async create(request: AccessRequest, audit: AuditEvent): Promise<boolean> {
    return this.write(request, '', request.state, audit);
  }

  async createWithinCap(request: AccessRequest, audit: AuditEvent, cap: OpenRequestCap): Promise<CreateOutcome> {
    if (this.requests.has(request.id)) return { kind: 'id-taken' };
    // As the script counts: in an open state index, and not an extension.
    const open = [...(this.requesterIndexes.get(request.requesterId)?.keys() ?? [])].filter((id) => {
      const stored = this.requests.get(id);
      return (
        cap.states.some((state) => this.stateIndexes.get(state)?.has(id)) &&
        stored !== undefined &&
        parseStoredRequest(stored.json).extends === undefined
      );
    }).length;
    if (open >= cap.max) return { kind: 'at-cap', open };
    return this.write(request, '', request.state, audit) ? { kind: 'created' } : { kind: 'id-taken' };
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const stored = this.requests.get(id);
    return stored === undefined ? undefined : parseStoredRequest(stored.json);
  }

  async update(next: AccessRequest, expectedVersion: number, audit: AuditEvent): Promise<boolean> {
    // A rival writer gets in between the caller's read and its compare-and-set, as another worker or click can.
    const rival = this.rivals.shift();
    if (rival) await rival(next.id);
    const from = audit.from === 'none' ? next.state : audit.from;
    return this.write(next, String(expectedVersion), from, audit);
  }

  async listByRequester(userId: string, states?: readonly RequestState[]): Promise<AccessRequest[]> {
    const ids = ascending(this.requesterIndexes.get(userId))
      .reverse()
      .map(([id]) => id);
    return this.readMany(ids, states);
  }

  async listByState(
    state: RequestState,
    maxScore = Number.POSITIVE_INFINITY,
    aboveScore = Number.NEGATIVE_INFINITY,
  ): Promise<AccessRequest[]> {
    const ids = ascending(this.stateIndexes.get(state))
      .filter(([, score]) => score <= maxScore && score > aboveScore)
      .map(([id]) => id);
    return this.readMany(ids, [state]);
  }

  async setApprovalMessage(id: string, ref: MessageRef, postedBy?: string): Promise<void> {
    this.approvalMessages.set(id, JSON.stringify(ref));
    if (postedBy !== undefined) await this.recordNoticeStep(id, postedBy, 'approval-message');
  }

  async getApprovalMessage(id: string): Promise<MessageRef | undefined> {
    return parseMessageRef(this.approvalMessages.get(id));
  }

  async forNotice(id: string, notice: string): Promise<NoticeContext | undefined> {
    const stored = this.requests.get(id);
    if (!stored) return undefined;
    return {
      request: parseStoredRequest(stored.json),
      approvalMessage: await this.getApprovalMessage(id),
      done: noticeStepsDone(this.noticeRecords.get(id), notice),
    };
  }

  async recordNoticeStep(id: string, notice: string, step: NoticeStep): Promise<void> {
    if (!this.requests.has(id)) return;
    this.noticeRecords.set(id, (this.noticeRecords.get(id) ?? '') + noticeRecordEntry(notice, step));
  }

  /**
   * Runs `rival` just before the next compare-and-set (once; queue several for several races), so a test can make
   * another writer change the request between a service's read and its write. The rival's own updates do not
   * trigger the rivals queued after it.
   */
  interleave(rival: (requestId: string) => Promise<void>): void {
    this.rivals.push(async (requestId) => {
      const queued = this.rivals.splice(0);
      try {
        await rival(requestId);
      } finally {
        this.rivals.unshift(...queued);
      }
    });
  }

  /** Every stored request, in no particular order (for assertions). */
  async all(): Promise<AccessRequest[]> {
    return [...this.requests.values()].map((stored) => parseStoredRequest(stored.json));
  }

  private async readMany(ids: readonly string[], states?: readonly RequestState[]): Promise<AccessRequest[]> {
    const requests: AccessRequest[] = [];
    for (const id of ids) {
      const request = await this.get(id);
      if (request && (!states || states.includes(request.state))) requests.push(request);
    }
    return requests;
  }

  /** The Redis store's compare-and-set script, as one synchronous step (nothing can interleave with it). */
  private write(request: AccessRequest, expectedVersion: string, fromState: RequestState, audit: AuditEvent): boolean {
    const current = this.requests.get(request.id)?.version;
    if (expectedVersion === '' ? current !== undefined : current !== expectedVersion) return false;
    this.requests.set(request.id, { version: String(request.version), json: JSON.stringify(request) });
    if (fromState !== request.state) this.index(this.stateIndexes, fromState).delete(request.id);
    this.index(this.stateIndexes, request.state).set(request.id, stateScore(request));
    this.index(this.requesterIndexes, request.requesterId).set(request.id, request.createdAt);
    this.audit.appendTransition({ ...audit });
    return true;
  }

  private index<K>(indexes: Map<K, SortedSet>, key: K): SortedSet {
    let set = indexes.get(key);
    if (!set) {
      set = new Map();
      indexes.set(key, set);
    }
    return set;
  }
}
