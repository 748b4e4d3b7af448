import { CloudProviderError } from '../../../src/domain/errors';
import type {
  CloudProvider,
  CloudProviders,
  FoundGrant,
  GrantOutcome,
  GrantSpec,
  RoleTargetRef,
} from '../../../src/domain/ports';

/** One artefact the in-memory cloud holds, named `jit-<requestId>` like the real ones. */
export interface InMemoryArtefact {
  requestId: string;
  roleId: string;
  /** The identity the access went to: the policy's mapped one for this provider, else the Slack user ID. */
  principal: string;
  target: Readonly<Record<string, unknown>>;
  expiresAt: number;
}

type Operation = 'grant' | 'revoke' | 'verify' | 'findGrants';

/**
 * A `CloudProvider` whose cloud is a map, honest about the interface's promises: granting what exists replaces its
 * expiry on the same artefact, revoking what is gone succeeds, verify reads the map back, and the sweep lists every
 * artefact of the swept roles. Like the dry run, a role whose target says `failGrantWith` always fails to grant
 * (not retryable); `failNext` makes the next calls fail as a flaky cloud would. Every call is recorded.
 */
export class InMemoryCloudProvider implements CloudProvider {
  readonly name: string;
  /** As a provider that batches revocations declares it; a test sets it. */
  revocationsAtOnce?: number;
  readonly identifiesPeopleByEmail: boolean;
  readonly calls: { operation: Operation; spec?: GrantSpec }[] = [];
  private readonly artefacts = new Map<string, InMemoryArtefact>();
  private readonly failures = new Map<Operation, Error[]>();
  /** Requests whose person already held the access outside the bot (see {@link markHeldBefore}). */
  private readonly heldOutside = new Set<string>();

  constructor(options: { name?: string; identifiesPeopleByEmail?: boolean } = {}) {
    this.name = options.name ?? 'dryrun';
    this.identifiesPeopleByEmail = options.identifiesPeopleByEmail ?? false;
  }

  async grant(spec: GrantSpec): Promise<GrantOutcome> {
    this.record('grant', spec);
    const { failGrantWith } = spec.target as { failGrantWith?: unknown };
    if (typeof failGrantWith === 'string') throw new CloudProviderError(this.name, failGrantWith, false);
    const principal = this.principalOf(spec);
    this.artefacts.set(artefactName(spec.requestId), {
      requestId: spec.requestId,
      roleId: spec.roleId,
      principal,
      target: spec.target,
      expiresAt: spec.expiresAt,
    });
    return { memo: { artefact: artefactName(spec.requestId), principal } };
  }

  async revoke(spec: GrantSpec): Promise<void> {
    this.record('revoke', spec);
    this.artefacts.delete(artefactName(spec.requestId));
  }

  async verify(spec: GrantSpec): Promise<boolean> {
    this.record('verify', spec);
    return this.artefacts.has(artefactName(spec.requestId));
  }

  /** True for requests marked with {@link markHeldBefore}, as a provider that records standing access would say. */
  async heldBefore(spec: GrantSpec): Promise<boolean> {
    return this.heldOutside.has(spec.requestId);
  }

  async findGrants(roles: readonly RoleTargetRef[]): Promise<FoundGrant[]> {
    this.record('findGrants');
    const roleIds = new Set(roles.map((role) => role.roleId));
    return [...this.artefacts.values()]
      .filter((artefact) => roleIds.has(artefact.roleId))
      .map((artefact) => ({
        requestId: artefact.requestId,
        expiresAt: artefact.expiresAt,
        spec: {
          requestId: artefact.requestId,
          roleId: artefact.roleId,
          target: artefact.target,
          principal: { slackUserId: artefact.principal, identities: {} },
          expiresAt: artefact.expiresAt,
        },
        description: `${this.name} artefact ${artefactName(artefact.requestId)} of ${artefact.roleId} to ${artefact.principal}`,
      }));
  }

  sweeps(): boolean {
    return true;
  }

  /** What the cloud holds now. */
  grants(): InMemoryArtefact[] {
    return [...this.artefacts.values()].map((artefact) => ({ ...artefact }));
  }

  /** Puts an artefact in the cloud behind the bot's back (e.g. one the store lost, for the reconciler). */
  plant(artefact: InMemoryArtefact): void {
    this.artefacts.set(artefactName(artefact.requestId), { ...artefact });
  }

  /**
   * Says the person of this request held the access before the bot granted it (e.g. a standing assignment), so
   * finding it after the revocation is by design, as `CloudProvider.heldBefore` promises.
   */
  markHeldBefore(requestId: string): void {
    this.heldOutside.add(requestId);
  }

  /** Makes the next `times` calls of `operation` throw `error` (a retryable `CloudProviderError` by default). */
  failNext(
    operation: Operation,
    error: Error = new CloudProviderError(this.name, 'the cloud is down', true),
    times = 1,
  ) {
    const queue = this.failures.get(operation) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(error);
    this.failures.set(operation, queue);
  }

  private record(operation: Operation, spec?: GrantSpec): void {
    this.calls.push({ operation, ...(spec !== undefined && { spec }) });
    const failure = this.failures.get(operation)?.shift();
    if (failure) throw failure;
  }

  /** Whom the access is for; a provider naming people by email refuses a grant without one, as the real ones do. */
  private principalOf(spec: GrantSpec): string {
    const mapped = spec.principal.identities[this.name];
    if (mapped !== undefined) return mapped;
    if (!this.identifiesPeopleByEmail) return spec.principal.slackUserId;
    if (spec.principal.email === undefined) {
      throw new CloudProviderError(this.name, `no identity for ${spec.principal.slackUserId}: no email`, false);
    }
    return spec.principal.email;
  }
}

/** The request ID names the artefact, as `jit-<requestId>` names a real one. */
function artefactName(requestId: string): string {
  return `jit-${requestId}`;
}

/** `CloudProviders` over the given providers, by name. */
export class InMemoryCloudProviders implements CloudProviders {
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
}
