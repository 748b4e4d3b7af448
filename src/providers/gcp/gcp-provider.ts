import { FoldersClient, OrganizationsClient, ProjectsClient, type protos } from '@google-cloud/resource-manager';
import { parseResourceManagerEndpoint, type ResourceManagerEndpoint } from '../../config/resource-manager-endpoint';
import { CloudProviderError } from '../../domain/errors';
import type {
  CloudProvider,
  FoundGrant,
  GrantOutcome,
  GrantPrincipal,
  GrantSpec,
  RoleTargetRef,
} from '../../domain/ports';
import type { Logger } from '../../lib/logger';
import { DEFAULT_CALL_RETRY, providerError, retryTransient } from '../retry';
import { classifyFailure, describeFailure, truncate } from './gcp-errors';
import { GcpGrantSweep } from './gcp-sweep';
import { type GcpResourceKind, type GcpTarget, MEMBER_PREFIXES, parseGcpTarget, resourceKind } from './gcp-target';
import {
  countConditionalBindings,
  countPrincipals,
  findJitBinding,
  type JitBindingKey,
  jitCondition,
  jitConditionTitle,
  MAX_CONDITIONAL_BINDINGS_PER_POLICY,
  MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL,
  MAX_GROUPS_PER_POLICY,
  MAX_PRINCIPALS_PER_POLICY,
  withJitBinding,
  withoutJitMember,
} from './iam-policy-edit';

type Policy = protos.google.iam.v1.IPolicy;
/** The per-call options the provider sets (a subset of gax's CallOptions). */
interface CallOptions {
  retry?: null;
  timeout?: number;
}

/** What the provider needs of a Cloud Resource Manager client; the three v3 clients all fit. */
interface IamPolicyClient {
  getIamPolicy(
    request: protos.google.iam.v1.IGetIamPolicyRequest,
    options?: CallOptions,
  ): Promise<[Policy, ...unknown[]]>;
  setIamPolicy(
    request: protos.google.iam.v1.ISetIamPolicyRequest,
    options?: CallOptions,
  ): Promise<[Policy, ...unknown[]]>;
  close(): Promise<void>;
}

export interface GcpProviderOptions {
  logger: Logger;
  /**
   * `host:port` (https), `https://host:port`, or `http://host:port` for a local endpoint such as an emulator;
   * Google's public endpoint when absent.
   */
  resourceManagerEndpoint?: string;
}

/**
 * Our retries: few and short, so a throttled grant gives its worker back soon and the job's own backoff takes
 * over. They cover a whole read-modify-write, so a lost etag race re-reads before writing again.
 */
const RETRY = DEFAULT_CALL_RETRY;

/**
 * Per call: no gax retries (its defaults retry UNAVAILABLE reads for up to ten minutes and would multiply ours;
 * retryTransient owns backoff), and a bound on each call so a hung connection cannot hold a worker.
 */
const CALL_OPTIONS: CallOptions = { retry: null, timeout: 30_000 };

/**
 * Grants a Google Cloud role for a limited time as one conditional binding in the allow policy of a project,
 * folder or organization: titled `jit-<requestId>`, holding the requester, and conditioned on
 * `request.time < timestamp("<expiry>")`, so IAM itself stops honouring it at expiry even if the bot is down.
 * Every write carries the etag it read and policy version 3, so nobody else's binding or condition is lost; a
 * concurrent writer makes the bot re-read and try again.
 */
export class GcpProvider implements CloudProvider {
  readonly name = 'gcp';
  readonly identifiesPeopleByEmail = true;

  private readonly logger: Logger;
  private readonly endpoint: ResourceManagerEndpoint | undefined;
  /** Built on first use, so a policy that never touches folders never builds (or authenticates) that client. */
  private readonly clients = new Map<GcpResourceKind, IamPolicyClient>();
  private readonly sweep: GcpGrantSweep;

  /** @throws Error when `resourceManagerEndpoint` is not a usable endpoint. */
  constructor(options: GcpProviderOptions) {
    this.logger = options.logger;
    this.endpoint =
      options.resourceManagerEndpoint === undefined
        ? undefined
        : parseResourceManagerEndpoint(options.resourceManagerEndpoint);
    this.sweep = new GcpGrantSweep(
      (resource) => this.run(undefined, resource, 'sweep', () => this.readPolicy(resource)),
      this.logger,
    );
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseGcpTarget(spec.target);
    const member = gcpMember(spec.principal, this.name);
    const condition = jitCondition(spec.requestId, spec.expiresAt);
    const written = await this.editPolicy(spec.requestId, target.resource, 'grant', (policy) => {
      const edit = withJitBinding(policy, { role: target.role, member }, condition);
      if (edit.changed) this.assertWithinLimits(edit.policy, target.resource, target.role, member);
      return edit;
    });
    this.logger.info(
      { provider: this.name, requestId: spec.requestId, resource: target.resource, role: target.role, member, written },
      written
        ? `gcp: granted ${target.role} on ${target.resource} to ${member} until ${new Date(spec.expiresAt).toISOString()}`
        : `gcp: ${member} already holds ${target.role} on ${target.resource} for ${spec.requestId} with this expiry`,
    );
    return {
      memo: { resource: target.resource, role: target.role, member, conditionTitle: condition.title },
      instructions: grantInstructions(target),
    };
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const { resource, role } = this.artefactTarget(spec);
    const member = spec.memo?.member ?? this.memberIfKnown(spec.principal);
    if (member === undefined) {
      // No memo and no identity: no grant of this request can exist (granting needs the same identity), which
      // is the cleanup after a grant that failed for exactly that reason.
      this.logger.info(
        { provider: this.name, requestId: spec.requestId, resource, role },
        `gcp: no Google identity for ${spec.principal.slackUserId}; nothing of ${spec.requestId} to revoke`,
      );
      return;
    }
    const key: JitBindingKey = { role, member, title: jitConditionTitle(spec.requestId) };
    const written = await this.editPolicy(spec.requestId, resource, 'revoke', (policy) =>
      withoutJitMember(policy, key),
    );
    this.logger.info(
      { provider: this.name, requestId: spec.requestId, resource, role, member, alreadyGone: !written },
      written
        ? `gcp: revoked ${role} on ${resource} from ${member}`
        : `gcp: nothing of ${spec.requestId} left on ${resource}; no write`,
    );
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const { resource, role } = this.artefactTarget(spec);
    const member = spec.memo?.member ?? gcpMember(spec.principal, this.name);
    const policy = await this.run(spec.requestId, resource, 'verify', () => this.readPolicy(resource));
    const binding = findJitBinding(policy, { role, member, title: jitConditionTitle(spec.requestId) });
    const present = binding?.condition?.expression === jitCondition(spec.requestId, spec.expiresAt).expression;
    this.logger.debug(
      { provider: this.name, requestId: spec.requestId, resource, role, member, present },
      'gcp: verified',
    );
    return present;
  }

  /** The sweep: every `jit-<requestId>` binding member; see {@link GcpGrantSweep.findGrants}. */
  findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    return this.sweep.findGrants(roles);
  }

  /** True when the last sweep read this grant's allow policy; see {@link GcpGrantSweep.sweeps}. */
  sweeps(spec: GrantSpec): boolean {
    return this.sweep.sweeps(spec);
  }

  /** Closes the clients' connections; the provider builds new ones if used again. */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }

  /**
   * Reads the policy at version 3, applies `edit`, and writes the result back with the etag it read, retrying
   * the whole cycle when someone else wrote in between. Returns whether anything was written.
   */
  private async editPolicy(
    requestId: string,
    resource: string,
    action: 'grant' | 'revoke',
    edit: (policy: Policy) => { policy: Policy; changed: boolean },
  ): Promise<boolean> {
    return this.run(requestId, resource, action, async (stage) => {
      stage.current = 'read';
      const read = await this.readPolicy(resource);
      const next = edit(read);
      if (!next.changed) return false;
      if (read.etag === undefined || read.etag === null || read.etag.length === 0) {
        // Writing without an etag could silently drop someone else's conditions: refuse rather than guess.
        throw providerError(this.name, `Google Cloud returned the policy of ${resource} without an etag`, true);
      }
      stage.current = 'write';
      await this.client(resource).setIamPolicy(
        { resource, policy: { ...next.policy, version: 3, etag: read.etag } },
        CALL_OPTIONS,
      );
      return true;
    });
  }

  private async readPolicy(resource: string): Promise<Policy> {
    const [policy] = await this.client(resource).getIamPolicy(
      { resource, options: { requestedPolicyVersion: 3 } },
      CALL_OPTIONS,
    );
    return policy;
  }

  /** Runs `operation` with our retries and turns what still fails into a CloudProviderError people can act on. */
  private async run<T>(
    /** Undefined for the sweep, which reads on behalf of no one request. */
    requestId: string | undefined,
    resource: string,
    action: 'grant' | 'revoke' | 'verify' | 'sweep',
    operation: (stage: { current: 'read' | 'write' }) => Promise<T>,
  ): Promise<T> {
    const stage: { current: 'read' | 'write' } = { current: 'read' };
    try {
      return await retryTransient(() => operation(stage), {
        ...RETRY,
        isTransient: (error) => !(error instanceof CloudProviderError) && describeFailure(error).transient,
        onRetry: (error, attempt, delayMs) =>
          this.logger.info(
            {
              provider: this.name,
              requestId,
              resource,
              action,
              attempt,
              delayMs,
              failure: describeFailure(error).summary,
            },
            `gcp: ${action} on ${resource} failed transiently; retrying`,
          ),
      });
    } catch (error) {
      const classified = classifyFailure(this.name, error, resource, stage.current);
      const failure = describeFailure(error);
      this.logger.info(
        {
          provider: this.name,
          requestId,
          resource,
          action,
          retryable: classified.retryable,
          failure: failure.summary,
          detail: truncate(failure.message, 500),
          // The raw error (with its request body, the whole policy) only when Google did not say what went wrong.
          ...(failure.httpStatus === undefined && failure.rpcStatus === undefined && { err: error }),
        },
        `gcp: ${action} on ${resource} failed: ${classified.message}`,
      );
      throw classified;
    }
  }

  /**
   * Refuses a write Google would refuse anyway, so the requester hears which limit was hit and what to do rather
   * than a raw 400. `policy` is the policy as it would be written.
   */
  private assertWithinLimits(policy: Policy, resource: string, role: string, member: string): void {
    const { principals, groups } = countPrincipals(policy);
    if (principals > MAX_PRINCIPALS_PER_POLICY) {
      throw providerError(
        this.name,
        `The allow policy of ${resource} already holds Google's limit of ${MAX_PRINCIPALS_PER_POLICY} principals, so ${member} cannot be added; remove unused bindings there or grant through a group.`,
        false,
      );
    }
    if (member.startsWith('group:') && groups > MAX_GROUPS_PER_POLICY) {
      throw providerError(
        this.name,
        `The allow policy of ${resource} already holds Google's limit of ${MAX_GROUPS_PER_POLICY} groups, so ${member} cannot be added; remove unused group bindings there.`,
        false,
      );
    }
    const conditional = countConditionalBindings(policy, { role, member });
    if (conditional.forRoleAndMember > MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL) {
      throw providerError(
        this.name,
        `${member} already holds ${MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL} conditional bindings of ${role} on ${resource}, Google's limit for one role and one principal in an allow policy, so no further time-limited grant of it can be added: wait for one of them to end (or have it revoked early) and ask again. Operators: grants past their expiry count until the bot or the reconciler removes them, and so do conditional bindings of this role made by hand.`,
        false,
      );
    }
    if (conditional.inPolicy > MAX_CONDITIONAL_BINDINGS_PER_POLICY) {
      throw providerError(
        this.name,
        `The allow policy of ${resource} already holds ${MAX_CONDITIONAL_BINDINGS_PER_POLICY} conditional role bindings, the most Google allows in one allow policy, so no time-limited grant can be added there: wait for some grants on ${resource} to end and ask again. Operators: remove conditional bindings there that are no longer needed; grants past their expiry count until the bot or the reconciler removes them.`,
        false,
      );
    }
  }

  private memberIfKnown(principal: GrantPrincipal): string | undefined {
    try {
      return gcpMember(principal, this.name);
    } catch {
      return undefined;
    }
  }

  /** The resource and role the grant used (from its memo), else the role's target as the policy says now. */
  private artefactTarget(spec: GrantSpec): { resource: string; role: string } {
    const { resource, role } = spec.memo ?? {};
    if (resource !== undefined && role !== undefined) return { resource, role };
    return parseGcpTarget(spec.target);
  }

  private client(resource: string): IamPolicyClient {
    const kind = resourceKind(resource);
    const existing = this.clients.get(kind);
    if (existing) return existing;
    // REST ("fallback") transport everywhere: the same wire in production and in tests, and no gRPC channel to
    // keep alive. Credentials come from Application Default Credentials inside the client.
    const options = {
      fallback: true,
      ...(this.endpoint && {
        apiEndpoint: this.endpoint.host,
        port: this.endpoint.port,
        protocol: this.endpoint.protocol,
      }),
    };
    const client: IamPolicyClient =
      kind === 'folders'
        ? new FoldersClient(options)
        : kind === 'organizations'
          ? new OrganizationsClient(options)
          : new ProjectsClient(options);
    this.clients.set(kind, client);
    return client;
  }
}

/** Builds the provider from the environment (`GCP_RESOURCE_MANAGER_ENDPOINT`). */
export function createGcpProvider(logger: Logger, env: { GCP_RESOURCE_MANAGER_ENDPOINT?: string }): GcpProvider {
  const endpoint = env.GCP_RESOURCE_MANAGER_ENDPOINT?.trim();
  return new GcpProvider({ logger, ...(endpoint ? { resourceManagerEndpoint: endpoint } : {}) });
}

/**
 * The IAM member for the requester: `principals.<user>.gcp` (as written when it has a principal prefix, else
 * taken as a user's email), else their email as `user:<email>`.
 * @throws CloudProviderError (not retryable) when the policy names neither.
 */
export function gcpMember(principal: GrantPrincipal, provider = 'gcp'): string {
  const mapped = principal.identities.gcp?.trim();
  if (mapped) {
    if (MEMBER_PREFIXES.some((prefix) => mapped.startsWith(prefix))) return mapped;
    if (mapped.includes(':')) {
      throw providerError(
        provider,
        `The gcp identity "${mapped}" under principals.${principal.slackUserId} is not a principal the bot grants to; write it as user:<email>, group:<email> or serviceAccount:<email>.`,
        false,
      );
    }
    return `user:${mapped}`;
  }
  if (principal.email) return `user:${principal.email}`;
  throw providerError(
    provider,
    `No Google identity is known for <@${principal.slackUserId}>: add gcp: "user:<email>" under principals.${principal.slackUserId} in the policy file.`,
    false,
  );
}

function grantInstructions(target: GcpTarget): string {
  const project = /^projects\/(.+)$/.exec(target.resource)?.[1];
  const console = project ? ` Console: https://console.cloud.google.com/home/dashboard?project=${project}` : '';
  return `You have \`${target.role}\` on \`${target.resource}\`. IAM changes usually take effect within two minutes, occasionally up to seven.${console}`;
}
