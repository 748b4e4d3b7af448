import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CloudProviderError } from '../../domain/errors';
import type { CloudProvider, FoundGrant, GrantOutcome, GrantSpec, RoleTargetRef } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import type { GrantDescription, PolicyPrincipal } from '../grant-description';

/** What a dry-run role's `target:` may say. */
export const dryrunTargetSchema = z
  .object({
    /** Free text shown in logs, e.g. the account or project this role would cover. */
    description: z.string().optional(),
    /** Makes every grant of this role fail with this reason, to rehearse the failure path with real people. */
    failGrantWith: z.string().min(1).optional(),
  })
  .strict();

/** What a dry-run grant records, and under which name: `principals.<user>.dryrun`, else the Slack user ID. */
export function describeDryrunGrant(
  target: Readonly<Record<string, unknown>>,
  principal: PolicyPrincipal,
): GrantDescription {
  const parsed = dryrunTargetSchema.parse(target);
  const name = principal.mapped ?? principal.slackUserId;
  return {
    artefact: `nothing in any cloud: a record jit-<requestId> in Redis of the grant to ${name}${
      parsed.description === undefined ? '' : ` (${parsed.description})`
    }, deleted at expiry`,
    grantee:
      principal.mapped === undefined
        ? `${name} (their Slack user ID)`
        : `${name} (principals.${principal.slackUserId}.dryrun)`,
    ...(parsed.failGrantWith !== undefined && {
      refusal: `every grant of this role fails on purpose (target.failGrantWith): ${parsed.failGrantWith}`,
    }),
  };
}

/** One would-be grant, as the dry run records it. */
export interface DryrunGrant {
  requestId: string;
  roleId: string;
  principal: string;
  expiresAt: string;
  grantedAt: string;
}

/**
 * A provider that touches no cloud: it records in Redis and the log what it would have granted and revoked,
 * with the same idempotent semantics as the real providers (granting again replaces the expiry on the same
 * record; revoking what is gone succeeds).
 */
export class DryrunProvider implements CloudProvider {
  readonly name = 'dryrun';
  readonly identifiesPeopleByEmail = false;

  constructor(
    private readonly redis: Redis,
    /** Hash that stands in for the cloud: one field per would-be grant. */
    private readonly grantsKey: string,
    private readonly logger: Logger,
    private readonly clock: { now(): number },
  ) {}

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = dryrunTargetSchema.parse(spec.target);
    if (target.failGrantWith !== undefined) {
      throw new CloudProviderError(this.name, target.failGrantWith, false);
    }
    const grant: DryrunGrant = {
      requestId: spec.requestId,
      roleId: spec.roleId,
      principal: spec.principal.identities.dryrun ?? spec.principal.slackUserId,
      expiresAt: new Date(spec.expiresAt).toISOString(),
      grantedAt: new Date(this.clock.now()).toISOString(),
    };
    await this.redis.hset(this.grantsKey, grantKey(spec), JSON.stringify(grant));
    this.logger.info(
      { provider: this.name, grant, target: target.description },
      `dry run: would grant ${spec.roleId} to ${grant.principal}${target.description ? ` on ${target.description}` : ''}`,
    );
    return { memo: { grantKey: grantKey(spec) } };
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const removed = await this.redis.hdel(this.grantsKey, grantKey(spec));
    this.logger.info(
      { provider: this.name, requestId: spec.requestId, roleId: spec.roleId, alreadyGone: removed === 0 },
      `dry run: would revoke ${spec.roleId} from ${spec.principal.identities.dryrun ?? spec.principal.slackUserId}`,
    );
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    return (await this.redis.hexists(this.grantsKey, grantKey(spec))) === 1;
  }

  /** Every grant the dry run currently holds. */
  async grants(): Promise<DryrunGrant[]> {
    const values = await this.redis.hvals(this.grantsKey);
    return values.map((value) => dryrunGrantSchema.parse(JSON.parse(value)));
  }

  /** The dry run's whole "cloud" is the bot's own, so every recorded grant of a swept role is listed. */
  async findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    const roleIds = new Set(roles.map((role) => role.roleId));
    return (await this.grants())
      .filter((grant) => roleIds.has(grant.roleId))
      .map((grant) => ({
        requestId: grant.requestId,
        expiresAt: Date.parse(grant.expiresAt),
        spec: {
          requestId: grant.requestId,
          roleId: grant.roleId,
          target: {},
          principal: { slackUserId: grant.principal, identities: {} },
          expiresAt: Date.parse(grant.expiresAt),
        },
        description: `dry-run grant jit-${grant.requestId} of ${grant.roleId} to ${grant.principal}`,
      }));
  }

  sweeps(): boolean {
    return true;
  }
}

const dryrunGrantSchema = z.object({
  requestId: z.string(),
  roleId: z.string(),
  principal: z.string(),
  expiresAt: z.iso.datetime(),
  grantedAt: z.iso.datetime(),
});

/** The request ID names the grant, as a real cloud artefact's name would (`jit-<requestId>`). */
function grantKey(spec: GrantSpec): string {
  return `jit-${spec.requestId}`;
}
