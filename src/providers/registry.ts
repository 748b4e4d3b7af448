import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { EnvConfig } from '../config/env-schema';
import type { Clock, CloudProvider, CloudProviders } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { createAwsProvider } from './aws/aws-provider';
import { awsTargetSchema } from './aws/aws-target';
import { DryrunProvider, dryrunTargetSchema } from './dryrun/dryrun-provider';

/** What providers may need to be built; each takes only its part. */
export interface ProviderDeps {
  env: EnvConfig;
  logger: Logger;
  clock: Clock;
  redis: Redis;
  /** Redis hash that stands in for the cloud in dry runs. */
  dryrunGrantsKey: string;
}

/** A provider the policy file can name: how its roles' `target:` is validated, and how it is built. */
interface ProviderDefinition {
  targetSchema: z.ZodType;
  create(deps: ProviderDeps): CloudProvider;
}

const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = {
  dryrun: {
    targetSchema: dryrunTargetSchema,
    create: (deps) =>
      new DryrunProvider(deps.redis, deps.dryrunGrantsKey, deps.logger.child({ provider: 'dryrun' }), deps.clock),
  },
  aws: {
    targetSchema: awsTargetSchema,
    create: (deps) => createAwsProvider(deps.logger.child({ provider: 'aws' })),
  },
};

/** Each provider's schema for a role's `target:`; the policy loader validates roles against these. */
export const PROVIDER_TARGET_SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.fromEntries(
  Object.entries(PROVIDERS).map(([name, definition]) => [name, definition.targetSchema]),
);

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

  /** The provider of that name, if it was built. */
  find(name: string): CloudProvider | undefined {
    return this.byName.get(name);
  }
}

/**
 * Builds only the providers the policy uses, so a dry-run setup needs no cloud credentials and a cloud SDK's
 * credential chain is only consulted when a role needs it.
 */
export function buildProviders(names: Iterable<string>, deps: ProviderDeps): ProviderRegistry {
  const providers: CloudProvider[] = [];
  for (const name of new Set(names)) {
    const definition = PROVIDERS[name];
    if (!definition) throw new Error(`no cloud provider named "${name}" exists`);
    providers.push(definition.create(deps));
  }
  return new ProviderRegistry(providers);
}
