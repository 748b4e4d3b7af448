import type { Redis } from 'ioredis';
import type { AccessRequest, MessageRef, RequestState } from '../domain/access-request';
import type { AuditEvent } from '../domain/audit-event';
import type { CreateOutcome, NoticeContext, NoticeStep, OpenRequestCap, RequestStore } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { encodeAuditEvent } from './audit-log';
import type { RedisKeys } from './keys';
import { EXTRA_FIELDS, noticeRecordEntry, noticeStepsDone, parseMessageRef } from './request-extras';
import { parseStoredRequest } from './stored-request';

/**
 * Writes a request, moves it between state indexes and appends its audit event in one atomic step, only if the
 * stored version is the expected one ('' expects no request at all) and, when a cap is given, only while the
 * requester has fewer open requests than the cap: those in the open state indexes, extensions not counted.
 * KEYS: request, old state index, new state index, requester index, audit stream.
 * ARGV: expected version, new version, request JSON, request ID, new state score, created-at score, cap ('' for
 * none), n, the n open state index keys, audit fields.
 * Returns 1 when written, 0 when the version was not the expected one, and -1 - open when the requester is at the
 * cap with `open` open requests. The keys not declared share the request key's prefix (see REQUESTS_OF).
 */
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
if ARGV[7] ~= '' then
  local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[4])
  local open = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    for s = 9, 8 + tonumber(ARGV[8]) do
      if redis.call('ZSCORE', ARGV[s], id) then
        local json = redis.call('HGET', prefix .. id, 'json')
        if json and cjson.decode(json)['extends'] == nil then open = open + 1 end
        break
      end
    end
  end
  if open >= tonumber(ARGV[7]) then return -1 - open end
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
if KEYS[2] ~= KEYS[3] then redis.call('ZREM', KEYS[2], ARGV[4]) end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
local fields = {}
for i = 9 + tonumber(ARGV[8]), #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[5], '*', unpack(fields))
return 1
`;

/**
 * A person's requests, newest first, in one round trip: the IDs in their index, then the JSON of each (false for
 * one gone meanwhile), or only of those in one of the given state indexes, so a long history is not read and
 * parsed to find the few open requests. The request and state keys are not declared: they share the index's
 * prefix, so with a hash-tag prefix they are in its Redis Cluster slot, as BullMQ's scripts rely on for its keys.
 * KEYS: requester index. ARGV: the request key prefix (the key without the ID), then state index keys (none: all).
 */
const REQUESTS_OF = `
local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
local found = {}
for i = 1, #ids do
  local wanted = #ARGV == 1
  for s = 2, #ARGV do
    if not wanted and redis.call('ZSCORE', ARGV[s], ids[i]) then wanted = true end
  end
  if wanted then found[#found + 1] = redis.call('HGET', ARGV[1] .. ids[i], 'json') end
end
return found
`;

/**
 * The JSON of each request asked for (false for one not stored), in the order asked, in one command: a pipeline of
 * one `HGET` each costs the bot about three times the CPU (docs/BENCHMARKS.md). KEYS: the request key prefix (the
 * key without an ID, declared only so the call goes to the requests' Redis Cluster slot). ARGV: the IDs.
 */
const READ_MANY = `
local found = {}
for i = 1, #ARGV do found[i] = redis.call('HGET', KEYS[1] .. ARGV[i], 'json') end
return found
`;

/**
 * The request's JSON, its approval message and its notices' record, in one command. Versions before the message
 * was kept in the request's hash stored it under a key of its own, read when the hash has none.
 * KEYS: request, the approval message's key of earlier versions.
 */
const FOR_NOTICE = `
local found = redis.call('HMGET', KEYS[1], 'json', '${EXTRA_FIELDS.approvalMessage}', '${EXTRA_FIELDS.notices}')
if not found[2] then found[2] = redis.call('GET', KEYS[2]) end
return found
`;

/** The approval message's place, as in FOR_NOTICE. KEYS: request, the approval message's key of earlier versions. */
const APPROVAL_MESSAGE = `
return redis.call('HGET', KEYS[1], '${EXTRA_FIELDS.approvalMessage}') or redis.call('GET', KEYS[2])
`;

/** Lua: appends `entry` to the notices' record of the request at KEYS[1], if the request is stored. */
function appendToNotices(entry: string): string {
  return `
if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return 0 end
local record = redis.call('HGET', KEYS[1], '${EXTRA_FIELDS.notices}') or ''
redis.call('HSET', KEYS[1], '${EXTRA_FIELDS.notices}', record .. ${entry})
return 1
`;
}

/** Appends one entry to the request's notices' record. KEYS: request. ARGV: the entry. */
const RECORD_NOTICE_STEP = appendToNotices('ARGV[1]');

/**
 * Keeps the approval message's place and, when ARGV[2] is not empty, appends it to the notices' record.
 * KEYS: request. ARGV: the place's JSON, the record's entry or ''.
 */
const SET_APPROVAL_MESSAGE = `
redis.call('HSET', KEYS[1], '${EXTRA_FIELDS.approvalMessage}', ARGV[1])
if ARGV[2] == '' then return 0 end
${appendToNotices('ARGV[2]')}`;

type CasRedis = Redis & {
  jitForNotice(request: string, legacyMessage: string): Promise<(string | null)[]>;
  jitApprovalMessage(request: string, legacyMessage: string): Promise<string | null>;
  jitRecordNoticeStep(request: string, entry: string): Promise<number>;
  jitSetApprovalMessage(request: string, place: string, entry: string): Promise<number>;
  jitCompareAndSet(...keysAndArgs: (string | number)[]): Promise<number>;
  jitRequestsOf(index: string, requestKeyPrefix: string, ...stateIndexes: string[]): Promise<(string | null)[]>;
  jitReadRequests(requestKeyPrefix: string, ...ids: string[]): Promise<(string | null)[]>;
};

/** The score a request has in its state index: the expiry for active grants (what the reconciler sweeps by). */
function stateScore(request: AccessRequest): number {
  if (request.state === 'active' && request.expiresAt !== undefined) return request.expiresAt;
  if (request.state === 'pending') return request.approvalDeadline;
  // An approved request waiting for its scheduled start is not stuck until the start has passed.
  if (request.state === 'approved' && request.startsAt !== undefined)
    return Math.max(request.updatedAt, request.startsAt);
  return request.updatedAt;
}

/** Requests read and parsed per round trip by `readMany`: a few milliseconds of parsing at most. */
export const READ_CHUNK = 200;

/** The stored requests among `found` (JSON, or nothing for a request gone), keeping those in the given states. */
function parseMany(found: readonly unknown[], states?: readonly RequestState[]): AccessRequest[] {
  const requests: AccessRequest[] = [];
  for (const json of found) {
    if (typeof json !== 'string') continue;
    const request = parseStoredRequest(json);
    if (!states || states.includes(request.state)) requests.push(request);
  }
  return requests;
}

/** `RequestStore` on Redis: one hash per request, sorted-set indexes, and the audit stream. */
export class RedisRequestStore implements RequestStore {
  private readonly redis: CasRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {
    if (!('jitCompareAndSet' in redis)) {
      redis.defineCommand('jitCompareAndSet', { numberOfKeys: 5, lua: COMPARE_AND_SET });
    }
    if (!('jitRequestsOf' in redis)) redis.defineCommand('jitRequestsOf', { numberOfKeys: 1, lua: REQUESTS_OF });
    if (!('jitReadRequests' in redis)) redis.defineCommand('jitReadRequests', { numberOfKeys: 1, lua: READ_MANY });
    if (!('jitForNotice' in redis)) redis.defineCommand('jitForNotice', { numberOfKeys: 2, lua: FOR_NOTICE });
    if (!('jitApprovalMessage' in redis)) {
      redis.defineCommand('jitApprovalMessage', { numberOfKeys: 2, lua: APPROVAL_MESSAGE });
    }
    if (!('jitRecordNoticeStep' in redis)) {
      redis.defineCommand('jitRecordNoticeStep', { numberOfKeys: 1, lua: RECORD_NOTICE_STEP });
    }
    if (!('jitSetApprovalMessage' in redis)) {
      redis.defineCommand('jitSetApprovalMessage', { numberOfKeys: 1, lua: SET_APPROVAL_MESSAGE });
    }
    this.redis = redis as CasRedis;
  }

  async create(request: AccessRequest, audit: AuditEvent): Promise<boolean> {
    return (await this.write(request, '', request.state, audit)) === 'written';
  }

  async createWithinCap(request: AccessRequest, audit: AuditEvent, cap: OpenRequestCap): Promise<CreateOutcome> {
    const written = await this.write(request, '', request.state, audit, cap);
    if (written === 'written') return { kind: 'created' };
    // Expecting no request at all, a stale version means the ID is taken.
    return written === 'stale' ? { kind: 'id-taken' } : { kind: 'at-cap', open: written.atCap };
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const json = await this.redis.hget(this.keys.request(id), 'json');
    return json === null ? undefined : parseStoredRequest(json);
  }

  async update(next: AccessRequest, expectedVersion: number, audit: AuditEvent): Promise<boolean> {
    const from = audit.from === 'none' ? next.state : audit.from;
    return (await this.write(next, String(expectedVersion), from, audit)) === 'written';
  }

  async listByRequester(userId: string, states?: readonly RequestState[]): Promise<AccessRequest[]> {
    const found = await this.redis.jitRequestsOf(
      this.keys.requesterIndex(userId),
      this.keys.request(''),
      ...(states ?? []).map((state) => this.keys.stateIndex(state)),
    );
    return parseMany(found, states);
  }

  /**
   * Reads requests by ID, keeping those in the given states (all when absent): {@link READ_CHUNK} to a round trip,
   * so that reading thousands (an approver's App Home, a sweep) never holds the event loop for more than one
   * chunk's parsing, and Slack's requests are answered in between.
   */
  private async readMany(ids: readonly string[], states?: readonly RequestState[]): Promise<AccessRequest[]> {
    const requests: AccessRequest[] = [];
    for (let start = 0; start < ids.length; start += READ_CHUNK) {
      const found = await this.redis.jitReadRequests(this.keys.request(''), ...ids.slice(start, start + READ_CHUNK));
      requests.push(...parseMany(found, states));
    }
    return requests;
  }

  async listByState(
    state: RequestState,
    maxScore = Number.POSITIVE_INFINITY,
    aboveScore?: number,
  ): Promise<AccessRequest[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.stateIndex(state),
      aboveScore === undefined ? '-inf' : `(${aboveScore}`,
      maxScore === Number.POSITIVE_INFINITY ? '+inf' : maxScore,
    );
    return this.readMany(ids, [state]);
  }

  async setApprovalMessage(id: string, ref: MessageRef, postedBy?: string): Promise<void> {
    const entry = postedBy === undefined ? '' : noticeRecordEntry(postedBy, 'approval-message');
    await this.redis.jitSetApprovalMessage(this.keys.request(id), JSON.stringify(ref), entry);
  }

  async getApprovalMessage(id: string): Promise<MessageRef | undefined> {
    return parseMessageRef(await this.redis.jitApprovalMessage(this.keys.request(id), this.keys.approvalMessage(id)));
  }

  async forNotice(id: string, notice: string): Promise<NoticeContext | undefined> {
    const [json, message, record] = await this.redis.jitForNotice(this.keys.request(id), this.keys.approvalMessage(id));
    if (typeof json !== 'string') return undefined;
    return {
      request: parseStoredRequest(json),
      approvalMessage: parseMessageRef(message),
      done: noticeStepsDone(record, notice),
    };
  }

  async recordNoticeStep(id: string, notice: string, step: NoticeStep): Promise<void> {
    await this.redis.jitRecordNoticeStep(this.keys.request(id), noticeRecordEntry(notice, step));
  }

  private async write(
    request: AccessRequest,
    expectedVersion: string,
    fromState: RequestState,
    audit: AuditEvent,
    cap?: OpenRequestCap,
  ): Promise<'written' | 'stale' | { atCap: number }> {
    const capStates = cap?.states.map((state) => this.keys.stateIndex(state)) ?? [];
    const written = await this.redis.jitCompareAndSet(
      this.keys.request(request.id),
      this.keys.stateIndex(fromState),
      this.keys.stateIndex(request.state),
      this.keys.requesterIndex(request.requesterId),
      this.keys.audit(),
      expectedVersion,
      String(request.version),
      JSON.stringify(request),
      request.id,
      stateScore(request),
      request.createdAt,
      cap === undefined ? '' : cap.max,
      capStates.length,
      ...capStates,
      ...encodeAuditEvent(audit),
    );
    if (written < 0) return { atCap: -1 - written };
    if (written === 0) return 'stale';
    this.logger.info({ audit }, `request ${audit.requestId}: ${audit.from} → ${audit.to} by ${audit.actor}`);
    return 'written';
  }
}
