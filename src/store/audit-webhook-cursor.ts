import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/** Moves the cursor only forward, so a late or duplicate run can never send the stream back. */
const ADVANCE = `
local current = redis.call('GET', KEYS[1])
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
if current then
  local cms, cseq = parts(current)
  local nms, nseq = parts(ARGV[1])
  if nms < cms or (nms == cms and nseq <= cseq) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

type CursorRedis = Redis & { jitAdvanceAuditCursor(key: string, streamId: string): Promise<number> };

/**
 * Where the audit webhook is in the audit stream: the stream ID of the last entry it delivered (or skipped for
 * good). Kept in Redis beside the stream, so a restarted or another process resumes from it.
 */
export class AuditWebhookCursor {
  private readonly redis: CursorRedis;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    if (!('jitAdvanceAuditCursor' in redis)) {
      redis.defineCommand('jitAdvanceAuditCursor', { numberOfKeys: 1, lua: ADVANCE });
    }
    this.redis = redis as CursorRedis;
  }

  /**
   * Starts the cursor at the end of the stream the first time a webhook is configured, so history written before
   * is not replayed (export it instead); later starts keep it where it is.
   */
  async startAtEndIfUnset(): Promise<string> {
    const [last] = await this.redis.xrevrange(this.keys.audit(), '+', '-', 'COUNT', 1);
    await this.redis.set(this.keys.auditWebhookCursor(), last?.[0] ?? '0-0', 'NX');
    return this.get();
  }

  async get(): Promise<string> {
    return (await this.redis.get(this.keys.auditWebhookCursor())) ?? '0-0';
  }

  /** Records that everything up to and including `streamId` is done with. */
  async advance(streamId: string): Promise<void> {
    await this.redis.jitAdvanceAuditCursor(this.keys.auditWebhookCursor(), streamId);
  }

  /** True for the first caller in `windowMs` (across processes): whether to alert about a refused event now. */
  async mayAlert(windowMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.auditWebhookAlerted(), '1', 'PX', windowMs, 'NX')) === 'OK';
  }
}
