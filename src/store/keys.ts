/**
 * Every Redis key the bot writes, in one place. All keys share the prefix; writing the prefix as a hash tag
 * (e.g. `{jit}`) puts them in one Redis Cluster slot, which the multi-key scripts need.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  request(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  /** Sorted set of a person's request IDs, scored by creation time. */
  requesterIndex(userId: string): string {
    return `${this.prefix}:requester:${userId}`;
  }

  /** Sorted set of request IDs in one state, scored by the time that matters for it (expiry when active). */
  stateIndex(state: string): string {
    return `${this.prefix}:state:${state}`;
  }

  /** Where versions before the request's hash kept it stored the approval message's place; read, never written. */
  approvalMessage(id: string): string {
    return `${this.prefix}:approval-message:${id}`;
  }

  /** Append-only stream of audit events. */
  audit(): string {
    return `${this.prefix}:audit`;
  }

  /** What the dry-run provider would have granted, by grant key. */
  dryrunGrants(): string {
    return `${this.prefix}:dryrun:grants`;
  }

  /** Set of request IDs whose revocation keeps failing; `jit_irrevocable_grants` is its size. */
  irrevocable(): string {
    return `${this.prefix}:irrevocable`;
  }

  /** A provider's checkpoint for one request's grant (JSON), see `GrantCheckpoints`. */
  grantCheckpoint(requestId: string): string {
    return `${this.prefix}:grant-checkpoint:${requestId}`;
  }

  /** Hash of one Slack user group's cached members and its generation, see `RedisUsergroupCache`. */
  usergroupMembers(usergroupId: string): string {
    return `${this.prefix}:usergroup:${usergroupId}`;
  }

  /** Set of the people who have opened the bot's App Home, see `RedisHomeViewers`. */
  homeViewers(): string {
    return `${this.prefix}:home-viewers`;
  }

  /** Set when one process has alerted and audited a policy reload, so the other replicas do not repeat it. */
  policyReload(transition: string): string {
    return `${this.prefix}:policy-reload:${transition}`;
  }

  /** The stream ID of the last audit entry the webhook took (or skipped for good), see `AuditWebhookCursor`. */
  auditWebhookCursor(): string {
    return `${this.prefix}:audit-webhook:cursor`;
  }

  /** Set for an hour after the webhook refused an event and the operators were alerted, so they are not flooded. */
  auditWebhookAlerted(): string {
    return `${this.prefix}:audit-webhook:alerted`;
  }

  /** The lease of whichever process has the turn on a key (e.g. one allow policy), see `RedisResourceTurns`. */
  resourceTurn(key: string): string {
    return `${this.prefix}:turn:${key}`;
  }

  /** Sorted set of the slots held on a key (token → lease end), see `RedisOperationSlotPool`. */
  operationSlots(key: string): string {
    return `${this.prefix}:slots:${key}`;
  }

  /** Hash of one cloud API's pace (theoretical arrival time, hold-off), see `RedisCallPacer`. */
  callPace(key: string): string {
    return `${this.prefix}:pace:${key}`;
  }

  /** Epoch ms up to which expiries have been handed to an expiry sweep, see `RedisExpiryWatermark`. */
  expirySwept(): string {
    return `${this.prefix}:expiry-swept`;
  }

  /** BullMQ's own key prefix, so the queues live beside the data they work on. */
  queuePrefix(): string {
    return `${this.prefix}:bull`;
  }
}
