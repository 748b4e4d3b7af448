/** The reconciler's sweep of Google Cloud: every `jit-<requestId>` binding member in the allow policies named. */
import type { protos } from '@google-cloud/resource-manager';
import { CloudProviderError } from '../../domain/errors';
import { forEachLimited } from '../../domain/for-each-limited';
import type { FoundGrant, GrantSpec, RoleTargetRef } from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { providerError } from '../retry';
import { truncate } from './gcp-errors';
import { type GcpTarget, gcpTargetSchema, parseGcpTarget } from './gcp-target';
import { type JitMemberGrant, jitMemberGrants } from './iam-policy-edit';

const PROVIDER = 'gcp';

/**
 * How many allow policies the sweep reads at once: enough that a policy file naming dozens of projects is swept
 * in a few round trips, few enough not to spend the read quota (per project and minute) in a burst.
 */
const SWEEP_CONCURRENCY = 4;

/** Finds the bot's bindings by their condition titles, and remembers which allow policies the last sweep read. */
export class GcpGrantSweep {
  /** The resources whose allow policy the last sweep read, for {@link sweeps}. */
  private sweptResources: ReadonlySet<string> = new Set();

  constructor(
    /** Reads one allow policy at version 3, with the provider's retries; failures arrive as CloudProviderError. */
    private readonly readPolicy: (resource: string) => Promise<protos.google.iam.v1.IPolicy>,
    private readonly logger: Logger,
  ) {}

  /**
   * The sweep: reads the allow policy (version 3) of each distinct resource the roles name, once, and reports
   * every member of every binding whose condition title is exactly `jit-<requestId>`, whatever its role (a grant
   * of a role since removed from the policy file is still the bot's to end). The expiry is read from the
   * condition's expression; one the bot cannot read is reported without an expiry and says so in the
   * description. Each `spec` carries the memo revoke reads, so `revoke(found.spec)` takes exactly that member
   * out of that binding.
   *
   * One resource failing (after the usual in-call retries) does not hide the others: its grants are missing from
   * the result and the failure is logged at warn, so a caller must not read "not found" as "gone". Only when no
   * resource could be read does it throw: retryable if any failure was.
   */
  async findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    const resources = new Map<string, RoleTargetRef[]>();
    const failures: { resource: string; error: CloudProviderError }[] = [];
    for (const ref of roles) {
      let target: GcpTarget;
      try {
        target = parseGcpTarget(ref.target);
      } catch (error) {
        // The policy loader refuses such targets, so this is a policy built some other way; skip it, loudly.
        failures.push({ resource: `the target of role ${ref.roleId}`, error: error as CloudProviderError });
        continue;
      }
      resources.set(target.resource, [...(resources.get(target.resource) ?? []), ref]);
    }

    const found: FoundGrant[] = [];
    const swept = new Set<string>();
    await forEachLimited([...resources], SWEEP_CONCURRENCY, async ([resource, refs]) => {
      try {
        const policy = await this.readPolicy(resource);
        swept.add(resource);
        const grants = jitMemberGrants(policy);
        this.logger.debug(
          { provider: PROVIDER, resource, requestIds: grants.map((grant) => grant.requestId) },
          `gcp: swept ${resource}: ${grants.length} member(s) of bindings titled jit-<requestId>`,
        );
        for (const grant of grants) found.push(foundGrant(resource, refs, grant));
      } catch (error) {
        // readPolicy turns every failure into a CloudProviderError; anything else is a bug worth retrying past.
        const classified =
          error instanceof CloudProviderError ? error : providerError(PROVIDER, String(error), true, error);
        failures.push({ resource, error: classified });
      }
    });

    for (const { resource, error } of failures) {
      this.logger.warn(
        { provider: PROVIDER, resource, retryable: error.retryable },
        `gcp: the sweep could not read ${resource}; its grants are not in this sweep: ${error.message}`,
      );
    }
    this.sweptResources = swept;
    const read = swept.size;
    const [first, ...others] = failures;
    if (read === 0 && first !== undefined) {
      if (others.length === 0) throw first.error;
      throw providerError(
        PROVIDER,
        `The sweep could read none of the ${failures.length} Google Cloud allow policies it needs; the first failure: ${first.error.message}`,
        failures.some((failure) => failure.error.retryable),
        first.error,
      );
    }
    this.logger.info(
      { provider: PROVIDER, read, failed: failures.length, found: found.length },
      `gcp: the sweep read ${read} allow ${read === 1 ? 'policy' : 'policies'} and found ${found.length} grant(s)`,
    );
    return found;
  }

  /**
   * True when the last sweep read the allow policy this grant lives in, so its absence from that sweep means
   * it is gone. False for a resource the last sweep could not read (or did not read), so a failed read is never
   * taken for a binding removed by hand.
   */
  sweeps(spec: GrantSpec): boolean {
    const resource = spec.memo?.resource ?? gcpTargetSchema.safeParse(spec.target).data?.resource;
    return resource !== undefined && this.sweptResources.has(resource);
  }
}

/**
 * What the sweep reports for one member of one `jit-<requestId>` binding. The spec's memo is what revoke reads
 * (resource, role, member, title), so revoking it takes only that member out of the binding with that role and
 * title (one, unless someone copied it by hand). The artefact does not name the policy role that granted it:
 * `roleId` is the first role in force with this resource and Google role, or empty when none is (a role since
 * removed from the policy file); the Slack user is unknown (empty). `spec.expiresAt` is the expiry read, or 0
 * when none could be; revoke does not read it.
 */
function foundGrant(resource: string, refs: readonly RoleTargetRef[], grant: JitMemberGrant): FoundGrant {
  const roleId = refs.find((ref) => ref.target.role === grant.role)?.roleId ?? '';
  const where = `conditional binding ${grant.title} on ${resource}: ${grant.role} for ${grant.member}`;
  const description =
    grant.expiresAt === undefined
      ? `${where}, whose condition names no expiry the bot can read (${JSON.stringify(truncate(grant.expression, 200))})`
      : `${where} until ${new Date(grant.expiresAt).toISOString()}`;
  return {
    requestId: grant.requestId,
    ...(grant.expiresAt !== undefined && { expiresAt: grant.expiresAt }),
    description,
    spec: {
      requestId: grant.requestId,
      roleId,
      target: { resource, role: grant.role },
      principal: { slackUserId: '', identities: { gcp: grant.member } },
      expiresAt: grant.expiresAt ?? 0,
      memo: { resource, role: grant.role, member: grant.member, conditionTitle: grant.title },
    },
  };
}
