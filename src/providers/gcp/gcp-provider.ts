import { FoldersClient, OrganizationsClient, ProjectsClient, type protos } from '@google-cloud/resource-manager';
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
import { forEachLimited } from '../for-each-limited';
import { DEFAULT_CALL_RETRY, isTransientHttpStatus, providerError, retryTransient } from '../retry';
import { type GcpResourceKind, type GcpTarget, gcpTargetSchema, MEMBER_PREFIXES, resourceKind } from './gcp-target';
import {
  countConditionalBindings,
  countPrincipals,
  findJitBinding,
  type JitBindingKey,
  type JitMemberGrant,
  jitCondition,
  jitConditionTitle,
  jitMemberGrants,
  MAX_CONDITIONAL_BINDINGS_PER_POLICY,
  MAX_CONDITIONAL_BINDINGS_PER_ROLE_AND_PRINCIPAL,
  MAX_GROUPS_PER_POLICY,
  MAX_PRINCIPALS_PER_POLICY,
  withJitBinding,
  withoutJitMember,
} from './iam-policy-edit';
import { parseResourceManagerEndpoint, type ResourceManagerEndpoint } from './resource-manager-endpoint';

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
 * How many allow policies the sweep reads at once: enough that a policy file naming dozens of projects is swept
 * in a few round trips, few enough not to spend the read quota (per project and minute) in a burst.
 */
const SWEEP_CONCURRENCY = 4;

const PERMISSION_PREFIX: Readonly<Record<GcpResourceKind, string>> = {
  projects: 'resourcemanager.projects',
  folders: 'resourcemanager.folders',
  organizations: 'resourcemanager.organizations',
};

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
  /** The resources whose allow policy the last sweep read, for {@link sweeps}. */
  private sweptResources: ReadonlySet<string> = new Set();

  /** @throws Error when `resourceManagerEndpoint` is not a usable endpoint. */
  constructor(options: GcpProviderOptions) {
    this.logger = options.logger;
    this.endpoint =
      options.resourceManagerEndpoint === undefined
        ? undefined
        : parseResourceManagerEndpoint(options.resourceManagerEndpoint);
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = this.parseTarget(spec.target);
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
        target = this.parseTarget(ref.target);
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
        const policy = await this.run(undefined, resource, 'sweep', () => this.readPolicy(resource));
        swept.add(resource);
        const grants = jitMemberGrants(policy);
        this.logger.debug(
          { provider: this.name, resource, requestIds: grants.map((grant) => grant.requestId) },
          `gcp: swept ${resource}: ${grants.length} member(s) of bindings titled jit-<requestId>`,
        );
        for (const grant of grants) found.push(foundGrant(resource, refs, grant));
      } catch (error) {
        // run() turns every failure into a CloudProviderError; anything else is a bug worth retrying past.
        const classified =
          error instanceof CloudProviderError ? error : providerError(this.name, String(error), true, error);
        failures.push({ resource, error: classified });
      }
    });

    for (const { resource, error } of failures) {
      this.logger.warn(
        { provider: this.name, resource, retryable: error.retryable },
        `gcp: the sweep could not read ${resource}; its grants are not in this sweep: ${error.message}`,
      );
    }
    this.sweptResources = swept;
    const read = swept.size;
    const [first, ...others] = failures;
    if (read === 0 && first !== undefined) {
      if (others.length === 0) throw first.error;
      throw providerError(
        this.name,
        `The sweep could read none of the ${failures.length} Google Cloud allow policies it needs; the first failure: ${first.error.message}`,
        failures.some((failure) => failure.error.retryable),
        first.error,
      );
    }
    this.logger.info(
      { provider: this.name, read, failed: failures.length, found: found.length },
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

  private parseTarget(target: GrantSpec['target']): GcpTarget {
    const parsed = gcpTargetSchema.safeParse(target);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw providerError(this.name, `This role's gcp target is invalid: ${problems}`, false);
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
    return this.parseTarget(spec.target);
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

function grantInstructions(target: GcpTarget): string {
  const project = /^projects\/(.+)$/.exec(target.resource)?.[1];
  const console = project ? ` Console: https://console.cloud.google.com/home/dashboard?project=${project}` : '';
  return `You have \`${target.role}\` on \`${target.resource}\`. IAM changes usually take effect within two minutes, occasionally up to seven.${console}`;
}

/** What a failed call said, whichever transport or layer it came from. */
interface FailureDescription {
  httpStatus?: number;
  /** Google's canonical status name, e.g. `ABORTED`, `PERMISSION_DENIED`. */
  rpcStatus?: string;
  message: string;
  transient: boolean;
  summary: string;
}

/** gRPC status numbers, for errors that arrive as a gax GoogleError rather than an HTTP error. */
const RPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

const TRANSIENT_RPC_STATUSES = new Set([
  'ABORTED',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Matches Google's message for a policy over its principal limit. */
const PRINCIPAL_LIMIT = /maximum allowed (size|number)|number of (members|principals)|1,?500/i;

function describeFailure(error: unknown): FailureDescription {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    code?: unknown;
    message?: unknown;
    details?: unknown;
    response?: { status?: unknown; data?: unknown };
  };
  const rawMessage = typeof fields.message === 'string' ? fields.message : String(error);
  // REST errors arrive as the HTTP status plus Google's JSON error body, which gaxios puts in the message.
  const data = fields.response?.data;
  const body =
    googleErrorBody(typeof data === 'string' ? parseJson(data) : data) ?? googleErrorBody(parseJson(rawMessage));
  const httpStatus =
    typeof fields.status === 'number'
      ? fields.status
      : typeof fields.response?.status === 'number'
        ? fields.response.status
        : body?.code;
  const rpcStatus =
    body?.status ??
    (typeof fields.code === 'number' && httpStatus === undefined ? RPC_STATUS_NAMES[fields.code] : undefined);
  const message = body?.message ?? (typeof fields.details === 'string' && fields.details ? fields.details : rawMessage);
  const network = typeof fields.code === 'string' && NETWORK_ERROR_CODES.has(fields.code);
  const transient =
    network ||
    (rpcStatus !== undefined && TRANSIENT_RPC_STATUSES.has(rpcStatus) && !PRINCIPAL_LIMIT.test(message)) ||
    httpStatus === 409 ||
    httpStatus === 412 ||
    (isTransientHttpStatus(httpStatus) && !PRINCIPAL_LIMIT.test(message));
  const summary = [httpStatus, rpcStatus, network ? fields.code : undefined]
    .filter((part) => part !== undefined)
    .join(' ');
  return {
    ...(httpStatus !== undefined && { httpStatus }),
    ...(rpcStatus !== undefined && { rpcStatus }),
    message,
    transient,
    summary: summary || 'error',
  };
}

/** Turns a failure that outlived our retries into a sentence the requester and approvers can act on. */
function classifyFailure(
  provider: string,
  error: unknown,
  resource: string,
  stage: 'read' | 'write',
): CloudProviderError {
  if (error instanceof CloudProviderError) return error;
  const failure = describeFailure(error);
  const kind = resourceKind(resource);
  const permission = `${PERMISSION_PREFIX[kind]}.${stage === 'read' ? 'getIamPolicy' : 'setIamPolicy'}`;
  const detail = truncate(failure.message, 300);

  if (failure.transient) {
    const what =
      failure.httpStatus === 409 || failure.rpcStatus === 'ABORTED'
        ? 'kept changing under the bot'
        : `kept failing (${failure.summary})`;
    return providerError(
      provider,
      `Google Cloud ${what} while ${stage === 'read' ? 'reading' : 'updating'} the allow policy of ${resource}; the bot will try again.`,
      true,
      error,
    );
  }
  if (/could not load the default credentials/i.test(failure.message)) {
    return providerError(
      provider,
      'The bot found no Google Cloud credentials: give it Application Default Credentials (an attached service account, workload identity federation, or GOOGLE_APPLICATION_CREDENTIALS).',
      false,
      error,
    );
  }
  if (PRINCIPAL_LIMIT.test(failure.message) && (failure.httpStatus === 400 || failure.rpcStatus !== undefined)) {
    return providerError(
      provider,
      `The allow policy of ${resource} is at Google's limit of ${MAX_PRINCIPALS_PER_POLICY} principals (${detail}); remove unused bindings there or grant through a group.`,
      false,
      error,
    );
  }
  if (failure.rpcStatus === 'PERMISSION_DENIED' || failure.httpStatus === 403) {
    return providerError(
      provider,
      `The bot's Google Cloud identity lacks the permission ${permission} on ${resource} (or ${resource} does not exist): grant it a role with that permission there.`,
      false,
      error,
    );
  }
  if (failure.rpcStatus === 'UNAUTHENTICATED' || failure.httpStatus === 401) {
    return providerError(provider, `Google Cloud rejected the bot's credentials: ${detail}`, false, error);
  }
  if (failure.rpcStatus === 'NOT_FOUND' || failure.httpStatus === 404) {
    return providerError(
      provider,
      `Google Cloud has no ${resource}: check the role's target in the policy file.`,
      false,
      error,
    );
  }
  if (
    failure.rpcStatus === 'INVALID_ARGUMENT' ||
    failure.rpcStatus === 'FAILED_PRECONDITION' ||
    failure.httpStatus === 400
  ) {
    return providerError(
      provider,
      `Google Cloud refused the change to the allow policy of ${resource}: ${detail.replace(/\.$/, '')}. Check the role name in the policy file and the requester's gcp identity under principals.`,
      false,
      error,
    );
  }
  return providerError(
    provider,
    `Google Cloud failed to ${stage === 'read' ? 'read' : 'update'} the allow policy of ${resource}: ${detail}`,
    true,
    error,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Google's error envelope: `{ error: { code, message, status } }`. */
function googleErrorBody(value: unknown): { code?: number; message?: string; status?: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as { error?: unknown }).error;
  if (typeof inner !== 'object' || inner === null) return undefined;
  const { code, message, status } = inner as { code?: unknown; message?: unknown; status?: unknown };
  return {
    ...(typeof code === 'number' && { code }),
    ...(typeof message === 'string' && { message }),
    ...(typeof status === 'string' && { status }),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
