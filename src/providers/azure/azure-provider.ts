/** The Azure `CloudProvider` facade: builds the SDK clients and hands each call to the module that owns it. */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { TlsSettings } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Clock, CloudProvider, FoundGrant, GrantOutcome, GrantSpec, RoleTargetRef } from '../../domain/ports';
import { systemClock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import { inProcessPacing } from '../in-process-pacer';
import { type CallRetrySettings, DEFAULT_CALL_RETRY, type ProviderPacing, providerError } from '../retry';
import { azureCall } from './azure-call';
import { PROVIDER } from './azure-errors';
import { readMemo } from './azure-memo';
import { AzureGrantSweep } from './azure-sweep';
import { type AzureTarget, azureTargetSchema } from './azure-target';
import { GraphDirectory } from './graph-directory';
import { PimAssignments } from './pim-assignments';
import { DEFAULT_PIM_WAIT, PimRequestWait, type PimWaitSettings } from './pim-wait';
import { PrincipalLookup } from './principal-lookup';
import { RoleAssignments } from './role-assignments';

export { DEFAULT_PIM_WAIT, type PimWaitSettings } from './pim-wait';

export const DEFAULT_RESOURCE_MANAGER_ENDPOINT = 'https://management.azure.com';
export const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';
/**
 * `AuthorizationManagementClient` insists on a subscription ID, but every call here is scope-based (the scope
 * carries its own subscription), so this placeholder never reaches a URL.
 */
const UNUSED_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';

export type AzureRetrySettings = CallRetrySettings;

export interface AzureProviderOptions {
  logger: Logger;
  /** Azure Resource Manager's base URL; sovereign clouds and tests change it. Default https://management.azure.com. */
  resourceManagerEndpoint?: string;
  /** Microsoft Graph's base URL, for email lookups. Default https://graph.microsoft.com. */
  graphEndpoint?: string;
  /** Entra ID's sign-in host for `DefaultAzureCredential`, e.g. https://login.microsoftonline.us. */
  authorityHost?: string;
  /** Replaces `DefaultAzureCredential`: for tests, and for operators who build their own credential. */
  credential?: TokenCredential;
  /**
   * Where the provider reads the time (PIM start times and minimum length, which schedules are live). The registry
   * passes the container's; the wall clock when absent, for callers that build the provider themselves.
   */
  clock?: Clock;
  /**
   * Replaces the trusted CAs for ARM and Graph calls. Only for tests against a local fake with a self-signed
   * certificate; operators behind a TLS-inspecting proxy use NODE_EXTRA_CA_CERTS instead.
   */
  tlsOptions?: TlsSettings;
  /** In-call retries of throttling and 5xx; tests shorten them. Default 4 attempts, 200 ms base, 2 s cap. */
  retry?: Partial<AzureRetrySettings>;
  /** How long PIM steps wait for PIM to apply their requests; tests poll faster. */
  pimWait?: Partial<PimWaitSettings>;
  /**
   * The pace of ARM calls, shared by every bot process (the registry passes the Redis pacer and the policy's
   * `settings.cloudRates`); default: paced within this process at the documented default rate.
   */
  pacing?: ProviderPacing;
}

/**
 * Grants Azure roles for a limited time, as an RBAC role assignment (`kind: role-assignment`, ended by the bot)
 * or as a PIM active assignment with an end date (`kind: pim`, ended by Azure itself). Every artefact is named
 * by a GUID derived from the request ID and describes the request and expiry, so a sweep can find it later.
 */
export class AzureProvider implements CloudProvider {
  readonly name = PROVIDER;
  readonly identifiesPeopleByEmail = true;

  private readonly logger: Logger;
  private readonly principals: PrincipalLookup;
  private readonly roleAssignments: RoleAssignments;
  private readonly pim: PimAssignments;
  private readonly sweep: AzureGrantSweep;

  constructor(options: AzureProviderOptions) {
    const resourceManager = withoutTrailingSlash(options.resourceManagerEndpoint ?? DEFAULT_RESOURCE_MANAGER_ENDPOINT);
    const graph = withoutTrailingSlash(options.graphEndpoint ?? DEFAULT_GRAPH_ENDPOINT);
    const credential =
      options.credential ??
      new DefaultAzureCredential(options.authorityHost !== undefined ? { authorityHost: options.authorityHost } : {});
    const tls = options.tlsOptions !== undefined ? { tlsOptions: options.tlsOptions } : {};
    const client = new AuthorizationManagementClient(credential, UNUSED_SUBSCRIPTION_ID, {
      endpoint: resourceManager,
      // Tokens must be for the ARM endpoint in use: a sovereign cloud rejects tokens for the public one.
      credentialScopes: [`${resourceManager}/.default`],
      // The SDK's own retries are off: retryTransient retries the whole call with full jitter (honouring
      // Retry-After), so one grant makes a handful of attempts rather than the SDK's 3 times ours.
      retryOptions: { maxRetries: 0 },
      ...tls,
    });
    const logger = options.logger;
    const clock = options.clock ?? systemClock;
    const call = azureCall(logger, { ...DEFAULT_CALL_RETRY, ...options.retry }, options.pacing ?? inProcessPacing());
    this.logger = logger;
    this.principals = new PrincipalLookup(new GraphDirectory({ endpoint: graph, credential, ...tls }), call, logger);
    this.roleAssignments = new RoleAssignments(client, call, logger);
    const wait = new PimRequestWait(client, call, { ...DEFAULT_PIM_WAIT, ...options.pimWait });
    this.pim = new PimAssignments(client, call, clock, wait, logger);
    this.sweep = new AzureGrantSweep(client, call, clock, logger);
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    const target = parseTarget(spec);
    const principalId = await this.principals.resolve(spec);
    return target.kind === 'pim'
      ? this.pim.grant(spec, target, principalId)
      : this.roleAssignments.grant(spec, target, principalId);
  }

  async revoke(spec: GrantSpec): Promise<void> {
    const target = parseTarget(spec);
    const memo = readMemo(spec);
    if (memo.alreadyHeld === 'true') {
      this.logger.info(
        { provider: PROVIDER, requestId: spec.requestId, scope: target.scope },
        'azure: the role was held through an assignment the bot did not make; nothing to remove',
      );
      return;
    }
    if (target.kind === 'role-assignment') return this.roleAssignments.revoke(spec, target);
    const principalId = memo.principalId ?? (await this.principals.forCleanup(spec));
    if (principalId === undefined) return;
    return this.pim.revoke(spec, target, principalId);
  }

  /** The person held the role through an assignment or schedule the bot did not make; it outlives the grant. */
  async heldBefore(spec: GrantSpec): Promise<boolean> {
    return spec.memo?.alreadyHeld === 'true';
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    const target = parseTarget(spec);
    const memo = readMemo(spec);
    const principalId = memo.principalId ?? (await this.principals.resolve(spec));
    const held = memo.alreadyHeld === 'true';
    return target.kind === 'pim'
      ? this.pim.verify(spec, target, principalId, held)
      : this.roleAssignments.verify(spec, target, principalId, held);
  }

  /** The bot's artefacts under the given roles, read from Azure alone; see {@link AzureGrantSweep.findGrants}. */
  findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    return this.sweep.findGrants(roles);
  }

  /** True when the last sweep read the listing this grant's artefact would be in; see {@link AzureGrantSweep.sweeps}. */
  sweeps(spec: GrantSpec): boolean {
    return this.sweep.sweeps(spec);
  }
}

/**
 * Builds the provider from the environment's endpoint overrides, with `DefaultAzureCredential`, the given clock and
 * the bot's shared pacing.
 */
export function createAzureProvider(
  logger: Logger,
  env: { AZURE_RESOURCE_MANAGER_ENDPOINT?: string; AZURE_AUTHORITY_HOST?: string; AZURE_GRAPH_ENDPOINT?: string },
  clock: Clock,
  pacing?: ProviderPacing,
): AzureProvider {
  return new AzureProvider({
    logger,
    clock,
    ...(pacing !== undefined && { pacing }),
    ...(env.AZURE_RESOURCE_MANAGER_ENDPOINT !== undefined && {
      resourceManagerEndpoint: env.AZURE_RESOURCE_MANAGER_ENDPOINT,
    }),
    ...(env.AZURE_GRAPH_ENDPOINT !== undefined && { graphEndpoint: env.AZURE_GRAPH_ENDPOINT }),
    ...(env.AZURE_AUTHORITY_HOST !== undefined && { authorityHost: env.AZURE_AUTHORITY_HOST }),
  });
}

function parseTarget(spec: GrantSpec): AzureTarget {
  const parsed = azureTargetSchema.safeParse(spec.target);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'target'}: ${issue.message}`);
    throw providerError(PROVIDER, `Role ${spec.roleId} has an invalid Azure target (${problems.join('; ')}).`, false);
  }
  return parsed.data;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
