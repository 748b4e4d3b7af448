/** A minimal Microsoft Graph client: the one users query the principal lookup needs, on its own pipeline. */
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  RestError,
  type TlsSettings,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';

export interface GraphDirectoryOptions {
  /** Microsoft Graph's base URL, e.g. https://graph.microsoft.com (no version segment). */
  endpoint: string;
  credential: TokenCredential;
  /** Replaces the trusted CAs; only for tests against a local fake with a self-signed certificate. */
  tlsOptions?: TlsSettings;
}

/**
 * Finds people's Entra object IDs by email through Microsoft Graph (`GET /v1.0/users?$filter=...`). Only the ID
 * is read, so `User.ReadBasic.All` is enough. Failures are thrown as `RestError` for the provider to classify.
 */
export class GraphDirectory {
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient = createDefaultHttpClient();
  private readonly endpoint: string;

  constructor(options: GraphDirectoryOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    // No pipeline retries: the provider retries the whole lookup with its own backoff, once.
    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: 0 },
      ...(options.tlsOptions !== undefined && { tlsOptions: options.tlsOptions }),
    });
    this.pipeline.addPolicy(
      bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: `${this.endpoint}/.default` }),
    );
  }

  /**
   * The object ID of the user whose mail or user principal name is `email`; undefined when nobody has it.
   * @throws RestError when Graph refuses or fails, or when two different users match.
   */
  async findUserObjectId(email: string): Promise<string | undefined> {
    const literal = email.replace(/'/g, "''");
    const query = new URLSearchParams({
      $filter: `mail eq '${literal}' or userPrincipalName eq '${literal}'`,
      $select: 'id',
    });
    const request = createPipelineRequest({
      url: `${this.endpoint}/v1.0/users?${query.toString()}`,
      method: 'GET',
      headers: createHttpHeaders({ accept: 'application/json' }),
    });
    const response = await this.pipeline.sendRequest(this.httpClient, request);
    const body = parseJson(response.bodyAsText ?? undefined);
    if (response.status !== 200) {
      const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      throw new RestError(typeof error?.message === 'string' ? error.message : `Graph answered ${response.status}`, {
        statusCode: response.status,
        ...(typeof error?.code === 'string' && { code: error.code }),
        request,
        response,
      });
    }
    const ids = new Set(
      ((body as { value?: { id?: unknown }[] } | undefined)?.value ?? [])
        .map((user) => user.id)
        .filter((id): id is string => typeof id === 'string'),
    );
    if (ids.size > 1) {
      throw new RestError(`more than one Entra user has the email ${email}`, { code: 'AmbiguousEmail' });
    }
    return [...ids][0];
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
