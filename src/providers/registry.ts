import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { EnvConfig } from '../config/env-schema';
import type { CloudApi } from '../domain/policy';
import type {
  CallPacer,
  CallRate,
  Clock,
  CloudProvider,
  CloudProviders,
  GrantCheckpoints,
  OperationSlotPool,
  ResourceTurns,
} from '../domain/ports';
import type { Logger } from '../lib/logger';
import type * as AwsProviderModule from './aws/aws-provider';
import { awsIamPower, awsTargetSchema, describeAwsGrant } from './aws/aws-target';
import type * as AzureProviderModule from './azure/azure-provider';
import { azureIamPower, azureTargetSchema, describeAzureGrant } from './azure/azure-target';
import { DryrunProvider, describeDryrunGrant, dryrunTargetSchema } from './dryrun/dryrun-provider';
import type * as GcpProviderModule from './gcp/gcp-provider';
import { describeGcpGrant, gcpIamPower, gcpTargetSchema } from './gcp/gcp-target';
import type { GrantDescriber } from './grant-description';
import type { ProviderPacing } from './retry';

/** What providers may need to be built; each takes only its part. */
export interface ProviderDeps {
  env: EnvConfig;
  logger: Logger;
  clock: Clock;
  redis: Redis;
  /** Redis hash that stands in for the cloud in dry runs. */
  dryrunGrantsKey: string;
  /** Durable per-request checkpoints, for providers that must decide before they change the cloud. */
  checkpoints: GrantCheckpoints;
  /** Turns on a cloud resource shared by every process, e.g. one GCP allow policy's read-modify-write at a time. */
  turns: ResourceTurns;
  /** Paces cloud calls across every process, so together they stay under each cloud's rate. */
  pacer: CallPacer;
  /** Slots for operations a cloud counts while they run (Identity Center's), shared by every process. */
  operationSlots: OperationSlotPool;
  /** The rate in force for one cloud API (`settings.cloudRates` of the policy now, so a reload applies at once). */
  callRate: (api: CloudApi) => CallRate;
}

/** The pacing every cloud provider gets: the shared pacer, and the rate read from the policy at each call. */
function pacingOf(deps: ProviderDeps): ProviderPacing {
  return { pacer: deps.pacer, rateOf: deps.callRate };
}

/**
 * Loads a provider's module, and with it its cloud's SDK, only when the policy uses that cloud: the three SDKs
 * together hold about 60 MiB of a process's memory (docs/BENCHMARKS.md), which a bot for one cloud should not pay.
 * The target schemas and describers above stay eager; they import no SDK.
 */
function loadOnFirstUse<Module>(path: string): Module {
  // A synchronous import on demand: the build emits CommonJS, and building the providers is synchronous.
  return require(path) as Module;
}

/** A provider the policy file can name: how its roles' `target:` is validated, and how it is built. */
interface ProviderDefinition {
  targetSchema: z.ZodType;
  /**
   * How long after a revocation the cloud's own caches may still honour the grant (see CLOUDS.md); the read-back
   * that checks access is gone waits this long unless the policy's `settings.propagation` says otherwise.
   */
  propagationMs: number;
  create(deps: ProviderDeps): CloudProvider;
}

const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = {
  dryrun: {
    targetSchema: dryrunTargetSchema,
    propagationMs: 0,
    create: (deps) =>
      new DryrunProvider(deps.redis, deps.dryrunGrantsKey, deps.logger.child({ provider: 'dryrun' }), deps.clock),
  },
  aws: {
    targetSchema: awsTargetSchema,
    propagationMs: 60_000,
    create: (deps) =>
      loadOnFirstUse<typeof AwsProviderModule>('./aws/aws-provider').createAwsProvider(
        deps.logger.child({ provider: 'aws' }),
        deps.checkpoints,
        deps.clock,
        pacingOf(deps),
        deps.operationSlots,
      ),
  },
  azure: {
    targetSchema: azureTargetSchema,
    propagationMs: 10 * 60_000,
    create: (deps) =>
      loadOnFirstUse<typeof AzureProviderModule>('./azure/azure-provider').createAzureProvider(
        deps.logger.child({ provider: 'azure' }),
        deps.env,
        deps.clock,
        pacingOf(deps),
      ),
  },
  gcp: {
    targetSchema: gcpTargetSchema,
    propagationMs: 7 * 60_000,
    create: (deps) =>
      loadOnFirstUse<typeof GcpProviderModule>('./gcp/gcp-provider').createGcpProvider(
        deps.logger.child({ provider: 'gcp' }),
        deps.env,
        {
          turns: deps.turns,
          pacing: pacingOf(deps),
        },
      ),
  },
};

/** Each provider's schema for a role's `target:`; the policy loader validates roles against these. */
export const PROVIDER_TARGET_SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.fromEntries(
  Object.entries(PROVIDERS).map(([name, definition]) => [name, definition.targetSchema]),
);

/** Each provider's propagation time, in milliseconds; the policy loader fills in `settings.propagation` from it. */
export const PROVIDER_PROPAGATION_MS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(PROVIDERS).map(([name, definition]) => [name, definition.propagationMs]),
);

/** Per provider: why a role's target can change IAM itself; such roles default to `risk: high`. */
export const PROVIDER_IAM_POWER: Readonly<
  Record<string, (target: Readonly<Record<string, unknown>>) => string | undefined>
> = {
  aws: awsIamPower,
  azure: azureIamPower,
  gcp: gcpIamPower,
};

/** Per provider: what a role's grant would create and as whom, told from the policy alone (`jit-access-bot explain`). */
export const PROVIDER_GRANT_DESCRIBERS: Readonly<Record<string, GrantDescriber>> = {
  dryrun: describeDryrunGrant,
  aws: describeAwsGrant,
  azure: describeAzureGrant,
  gcp: describeGcpGrant,
};

/** The configured providers, by name. */
export class ProviderRegistry implements CloudProviders {
  private readonly byName: ReadonlyMap<string, CloudProvider>;

  constructor(providers: readonly CloudProvider[]) {
    this.byName = new Map(providers.map((provider) => [provider.name, provider]));
  }

  get(name: string): CloudProvider {
    const provider = this.byName.get(name);
    if (!provider) throw new Error(`no cloud provider named "${name}" is configured`);
    return provider;
  }

  list(): readonly CloudProvider[] {
    return [...this.byName.values()];
  }

  /** The provider of that name, if it was built. */
  find(name: string): CloudProvider | undefined {
    return this.byName.get(name);
  }

  /** Releases the providers' connections on shutdown. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.byName.values()].map((provider) => provider.close?.()));
  }
}

/**
 * Builds only the providers the policy uses, so a dry-run setup needs no cloud credentials and a cloud SDK's
 * credential chain is only consulted when a role needs it.
 */
export function buildProviders(
  names: Iterable<string>,
  deps: ProviderDeps,
  /** Providers built by the caller, e.g. with an injected credential or TLS trust; they take their name's place. */
  prebuilt: readonly CloudProvider[] = [],
): ProviderRegistry {
  const providers: CloudProvider[] = [...prebuilt];
  const taken = new Set(prebuilt.map((provider) => provider.name));
  for (const name of new Set(names)) {
    if (taken.has(name)) continue;
    const definition = PROVIDERS[name];
    if (!definition) throw new Error(`no cloud provider named "${name}" exists`);
    providers.push(definition.create(deps));
  }
  return new ProviderRegistry(providers);
}
