import type { Redis } from 'ioredis';
import type { AccessRequest, MessageRef, RequestState } from '../domain/access-request';
import type { AuditEvent } from '../domain/audit-event';
import type { RequestStore } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { encodeAuditEvent } from './audit-log';
import type { RedisKeys } from './keys';
import { parseStoredRequest } from './stored-request';

/**
 * Writes a request, moves it between state indexes and appends its audit event in one atomic step, only if the
 * stored version is the expected one ('' expects no request at all).
 * KEYS: request, old state index, new state index, requester index, audit stream.
 * ARGV: expected version, new version, request JSON, request ID, new state score, created-at score, audit fields.
 */
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
if KEYS[2] ~= KEYS[3] then redis.call('ZREM', KEYS[2], ARGV[4]) end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[5], '*', unpack(fields))
return 1
`;

type CasRedis = Redis & {
  jitCompareAndSet(...keysAndArgs: (string | number)[]): Promise<number>;
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
    this.redis = redis as CasRedis;
  }

  async create(request: AccessRequest, audit: AuditEvent): Promise<boolean> {
    return this.write(request, '', request.state, audit);
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const json = await this.redis.hget(this.keys.request(id), 'json');
    return json === null ? undefined : parseStoredRequest(json);
  }

  async update(next: AccessRequest, expectedVersion: number, audit: AuditEvent): Promise<boolean> {
    const from = audit.from === 'none' ? next.state : audit.from;
    return this.write(next, String(expectedVersion), from, audit);
  }

  async listByRequester(userId: string, states?: readonly RequestState[]): Promise<AccessRequest[]> {
    const ids = await this.redis.zrevrange(this.keys.requesterIndex(userId), 0, -1);
    return this.readMany(ids, states);
  }

  /** Reads requests by ID in one round trip, keeping those in the given states (all when absent). */
  private async readMany(ids: readonly string[], states?: readonly RequestState[]): Promise<AccessRequest[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.request(id), 'json');
    const results = (await pipeline.exec()) ?? [];
    const requests: AccessRequest[] = [];
    for (const [error, json] of results) {
      if (error) throw error;
      if (typeof json !== 'string') continue;
      const request = parseStoredRequest(json);
      if (!states || states.includes(request.state)) requests.push(request);
    }
    return requests;
  }

  async listByState(state: RequestState, maxScore = Number.POSITIVE_INFINITY): Promise<AccessRequest[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.stateIndex(state),
      '-inf',
      maxScore === Number.POSITIVE_INFINITY ? '+inf' : maxScore,
    );
    return this.readMany(ids, [state]);
  }

  async setApprovalMessage(id: string, ref: MessageRef): Promise<void> {
    await this.redis.set(this.keys.approvalMessage(id), JSON.stringify(ref));
  }

  async getApprovalMessage(id: string): Promise<MessageRef | undefined> {
    const json = await this.redis.get(this.keys.approvalMessage(id));
    if (json === null) return undefined;
    const parsed = JSON.parse(json) as Partial<MessageRef>;
    return typeof parsed.channel === 'string' && typeof parsed.ts === 'string'
      ? { channel: parsed.channel, ts: parsed.ts }
      : undefined;
  }

  private async write(
    request: AccessRequest,
    expectedVersion: string,
    fromState: RequestState,
    audit: AuditEvent,
  ): Promise<boolean> {
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
      ...encodeAuditEvent(audit),
    );
    if (written === 1)
      this.logger.info({ audit }, `request ${audit.requestId}: ${audit.from} → ${audit.to} by ${audit.actor}`);
    return written === 1;
  }
}
