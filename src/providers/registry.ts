import type { z } from 'zod';
import type { CloudProvider, CloudProviders } from '../domain/ports';
import { dryrunTargetSchema } from './dryrun/dryrun-provider';

/** Each provider's schema for a role's `target:`; the policy loader validates roles against these. */
export const PROVIDER_TARGET_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  dryrun: dryrunTargetSchema,
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
}
