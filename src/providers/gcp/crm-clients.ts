/** The Cloud Resource Manager clients of the GCP provider: one per resource kind, built on first use. */
import { FoldersClient, OrganizationsClient, ProjectsClient, type protos } from '@google-cloud/resource-manager';
import type { ResourceManagerEndpoint } from '../../config/resource-manager-endpoint';
import { type GcpResourceKind, resourceKind } from './gcp-target';

export type Policy = protos.google.iam.v1.IPolicy;

/** The per-call options the provider sets (a subset of gax's CallOptions). */
export interface CallOptions {
  retry?: null;
  timeout?: number;
}

/** What the provider needs of a Cloud Resource Manager client; the three v3 clients all fit. */
export interface IamPolicyClient {
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

/**
 * The client for each kind of resource (projects, folders, organizations), built on first use, so a policy that
 * never touches folders never builds (or authenticates) that client.
 */
export class ResourceManagerClients {
  private readonly clients = new Map<GcpResourceKind, IamPolicyClient>();

  /** `endpoint`: Google's public endpoint when undefined. */
  constructor(private readonly endpoint: ResourceManagerEndpoint | undefined) {}

  /** The client that serves `resource`'s kind. */
  for(resource: string): IamPolicyClient {
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

  /** Closes the clients' connections; new ones are built if used again. */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
