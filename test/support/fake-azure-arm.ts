import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { createLogger } from '../../src/lib/logger';
import { AzureProvider, type AzureProviderOptions } from '../../src/providers/azure/azure-provider';
import { ArmThrottling, type BucketRate } from './fake-arm-throttling';
import { freePort } from './free-port';

/**
 * A local stand-in for the parts of Azure the bot talks to, over HTTPS (the Azure SDK refuses bearer tokens over
 * plain HTTP):
 * - Entra ID's OAuth2 token endpoint and OpenID metadata, so a real `ClientSecretCredential` signs in;
 * - ARM role assignments and PIM role assignment schedule requests/schedules, with Azure's error codes, and PIM's
 *   asynchrony: a schedule request is answered at once and applied a little later (see `provisioningDelayMs`);
 * - Microsoft Graph's `GET /v1.0/users?$filter=...` under `/graph`;
 * - ARM's throttling: token buckets per subscription, principal and operation type, with the documented sizes by
 *   default, answering 429 with `Retry-After` (see `fake-arm-throttling.ts`).
 *
 * Its certificate is self-signed and made per run; clients trust it through `tlsOptions: { ca }` on their own
 * pipelines, so nothing in the process stops verifying TLS. Tokens are bound to the scope they were issued for:
 * ARM answers only tokens for `<url>/.default`, Graph only tokens for `<url>/graph/.default`.
 */

export const FAKE_TENANT_ID = '5f3c2a10-7d4e-4b8a-9c61-0e2f4d8b7a93';
export const FAKE_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
export const FAKE_CLIENT_SECRET = 'fake-client-secret';
/** Built-in role GUIDs the fake knows (Reader, Contributor); others are `RoleDefinitionDoesNotExist`. */
export const READER_ROLE = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
export const CONTRIBUTOR_ROLE = 'b24988ac-6180-42a0-ab88-20f7382dd24c';

const AUTHORIZATION = '/providers/microsoft.authorization/';
/** A few hundred ms: long enough that a client which does not wait for PIM reads stale state, short for tests. */
const DEFAULT_PROVISIONING_DELAY_MS = 300;
/** See {@link FakeAzure.roleAssignmentRoom}. */
const DEFAULT_ROLE_ASSIGNMENT_ROOM = 4_000;

export interface StoredRoleAssignment {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  description?: string;
}

export interface StoredSchedule {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  /** The request that made or last changed it; absent for a standing assignment made outside PIM requests. */
  roleAssignmentScheduleRequestId?: string;
  status: string;
  startDateTime: string;
  endDateTime?: string;
  /** Fake-clock time the assignment started, for the 5-minute removal rule. */
  createdAtMs: number;
}

export interface StoredScheduleRequest {
  id: string;
  name: string;
  scope: string;
  principalId: string;
  roleDefinitionId: string;
  requestType: string;
  status: string;
  justification?: string;
  startDateTime?: string;
  endDateTime?: string;
  targetRoleAssignmentScheduleId?: string;
  createdOn: string;
}

/**
 * A schedule request PIM has answered but not applied yet: it moves through `stages` over the delay, then `apply`
 * gives its final status (and changes the schedules).
 */
interface PendingRequest {
  request: StoredScheduleRequest;
  stages: readonly string[];
  acceptedAtMs: number;
  readyAtMs: number;
  apply: (now: number) => string;
}

/**
 * The statuses a request shows while PIM works on it, from the `RequestStatus` enum of
 * RoleAssignmentScheduleRequest.json (api-version 2020-10-01). Azure does not document their order; these follow
 * the enum's own lifecycle wording (accepted, then provisioning, then the schedule made) and end in `Provisioned`,
 * or for a removal `Revoked`.
 */
const PROVISIONING_STAGES = ['Accepted', 'PendingProvisioning', 'PendingScheduleCreation'] as const;
const REVOKING_STAGES = ['Accepted', 'PendingRevocation'] as const;

export interface InjectedFailure {
  status: number;
  code?: string;
  /** Sent as `Retry-After` in seconds. */
  retryAfterSeconds?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** The query string without its leading `?` (e.g. `api-version=...&$filter=atScope()`), decoded. */
  query: string;
}

export class FakeAzure {
  /** The base URL: the ARM endpoint and the authority host. */
  readonly url: string;
  readonly graphUrl: string;
  /** The PEM certificate to trust (`tlsOptions: { ca }`). */
  readonly ca: string;
  readonly requests: SeenRequest[] = [];
  /**
   * Test control: actions (`Microsoft.Authorization/roleAssignments/write`...) the bot's identity is denied; `graph`
   * for Graph. What a denied call answers follows Azure (see `arm` and `graph`).
   */
  readonly denied = new Set<string>();
  /**
   * PIM's minimum: an assignment can't be shorter than 5 minutes, nor removed within 5 minutes of being assigned
   * (Microsoft Learn, "Assign Azure resource roles in Privileged Identity Management").
   */
  minimumActiveMs = 5 * 60_000;
  /**
   * How long PIM takes to apply a schedule request after answering its PUT: the answer says `Accepted` and the
   * schedule appears (or changes, or goes) only later. terraform-provider-azurerm polls for the schedule after
   * creating a request ("Wait for the request to be processed and a schedule to be created, so that subsequent
   * reads will succeed", pim_active_role_assignment_resource.go). 0 applies requests before answering.
   */
  provisioningDelayMs = DEFAULT_PROVISIONING_DELAY_MS;
  /**
   * Added to the end of every schedule PIM makes or changes. 0 by default (the requested end is kept); the spec's
   * examples show PIM moving it by seconds (PutRoleAssignmentScheduleRequest.json asks for PT8H from 21:35:27.91,
   * GetRoleAssignmentSchedulesByScope.json ends it at 05:35:17.91), which a test sets here to model.
   */
  scheduleEndAdjustmentMs = 0;
  /**
   * Role assignments the subscription still has room for; Azure's limit is 4,000 per subscription (Microsoft Learn,
   * "Azure subscription and service limits"; "Troubleshoot Azure RBAC": "No more role assignments can be created
   * (code: RoleAssignmentLimitExceeded)"; older versions of that page said 2,000). On by default. The fake counts
   * only the assignments it creates, and a deletion does not give room back (a simplification).
   */
  roleAssignmentRoom = DEFAULT_ROLE_ASSIGNMENT_ROOM;
  /**
   * Items per page of a listing; more are behind a `nextLink`, as ARM pages long listings (the specs' list
   * operations carry `x-ms-pageable` with `nextLinkName: nextLink`). Azure does not document its page size: 100 is
   * an assumption, and a test lowers it to make paging happen.
   */
  pageSize = 100;

  private readonly assignments = new Map<string, StoredRoleAssignment>();
  private readonly schedules = new Map<string, StoredSchedule>();
  private readonly scheduleRequests = new Map<string, StoredScheduleRequest>();
  private readonly users: { id: string; mail?: string; userPrincipalName?: string }[] = [];
  private readonly roleDefinitions = new Set([READER_ROLE, CONTRIBUTOR_ROLE]);
  private readonly tokens = new Map<string, string>();
  private failures: InjectedFailure[] = [];
  private pending: PendingRequest[] = [];
  private nextOutcomes: string[] = [];
  private offsetMs = 0;

  /** The fake's clock: the wall clock plus what `advance` added. Pass it to the provider too. */
  readonly clock = { now: () => Date.now() + this.offsetMs };
  /** ARM's token buckets, refilled on the fake's clock. */
  private readonly throttling = new ArmThrottling(() => this.clock.now());
  private latencyMs = 0;

  private constructor(
    private readonly server: https.Server,
    port: number,
    ca: string,
  ) {
    this.url = `https://127.0.0.1:${port}`;
    this.graphUrl = `${this.url}/graph`;
    this.ca = ca;
  }

  static async start(): Promise<FakeAzure> {
    const { key, cert } = selfSignedCertificate();
    const port = await freePort();
    let fake: FakeAzure | undefined;
    const server = https.createServer({ key, cert }, (req, res) => {
      void fake?.handle(req, res);
    });
    fake = new FakeAzure(server, port, cert);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A real `ClientSecretCredential` signing in at this fake. */
  credential(secret = FAKE_CLIENT_SECRET): ClientSecretCredential {
    return new ClientSecretCredential(FAKE_TENANT_ID, FAKE_CLIENT_ID, secret, {
      authorityHost: this.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: this.ca },
      retryOptions: { maxRetries: 0 },
    });
  }

  /** Forgets everything stored and every setting, between tests. */
  reset(): void {
    this.assignments.clear();
    this.schedules.clear();
    this.scheduleRequests.clear();
    this.users.length = 0;
    this.requests.length = 0;
    this.denied.clear();
    this.failures = [];
    this.offsetMs = 0;
    this.minimumActiveMs = 5 * 60_000;
    this.provisioningDelayMs = DEFAULT_PROVISIONING_DELAY_MS;
    this.scheduleEndAdjustmentMs = 0;
    this.pending = [];
    this.nextOutcomes = [];
    this.roleAssignmentRoom = DEFAULT_ROLE_ASSIGNMENT_ROOM;
    this.pageSize = 100;
    this.throttling.reset();
    this.latencyMs = 0;
  }

  /**
   * Test control, not a claim about ARM: writes and deletes each get a token bucket of this size and refill rate
   * instead of ARM's documented 200 and 10 a second; `undefined` stops throttling them (reads keep ARM's buckets).
   */
  setWriteRate(rate: BucketRate | undefined): void {
    this.throttling.setWriteRate(rate);
  }

  /** Test control, not a claim about ARM's latency: every ARM and Graph call waits `ms` before it is answered. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** How many requests ARM answered 429 for its rate since the last reset (injected failures not counted). */
  get throttledCount(): number {
    return this.throttling.throttledCount;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
    this.settle();
  }

  /**
   * Test control, not a claim about PIM's timing or choices: the next schedule request PIM accepts ends in this status (one of the spec's `RequestStatus` values, e.g.
   * `Failed`, `PendingApproval`) instead of being applied; a pending status keeps it pending for good.
   */
  endNextRequestAs(status: string): void {
    this.nextOutcomes.push(status);
  }

  addUser(user: { id: string; mail?: string; userPrincipalName?: string }): void {
    this.users.push(user);
  }

  /**
   * Test control, not a claim about Azure: the next `count` ARM or Graph requests fail with this status and an
   * `InjectedFailure` code (or the given one), with `Retry-After` if asked (tokens are never failed).
   */
  failNext(count: number, failure: InjectedFailure): void {
    for (let i = 0; i < count; i += 1) this.failures.push(failure);
  }

  /** A role assignment someone else made (its name is random, not the bot's). */
  seedRoleAssignment(
    assignment: Omit<StoredRoleAssignment, 'id' | 'name' | 'principalType'> & { name?: string },
  ): void {
    const name = assignment.name ?? randomUUID();
    const id = `${assignment.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    this.assignments.set(id.toLowerCase(), { ...assignment, id, name, principalType: 'User' });
  }

  /** A standing PIM-visible active assignment the bot did not request (e.g. a permanent one). */
  seedStandingSchedule(schedule: { scope: string; roleDefinitionId: string; principalId: string }): StoredSchedule {
    const name = randomUUID();
    const stored: StoredSchedule = {
      ...schedule,
      id: `${schedule.scope}/providers/Microsoft.Authorization/roleAssignmentSchedules/${name}`,
      name,
      status: 'Provisioned',
      startDateTime: new Date(this.clock.now() - 86_400_000).toISOString(),
      createdAtMs: this.clock.now() - 86_400_000,
    };
    this.schedules.set(stored.id.toLowerCase(), stored);
    return stored;
  }

  /**
   * A PIM active assignment made through a schedule request someone else sent (the portal, a script): the
   * request carries the given name and justification, the schedule points back at it.
   */
  seedPimAssignment(assignment: {
    scope: string;
    roleDefinitionId: string;
    principalId: string;
    justification: string;
    endDateTime: string;
    requestName?: string;
    requestType?: string;
  }): StoredSchedule {
    const name = assignment.requestName ?? randomUUID();
    const requestId = `${assignment.scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}`;
    const schedule: StoredSchedule = {
      id: `${assignment.scope}/providers/Microsoft.Authorization/roleAssignmentSchedules/${name}`,
      name,
      scope: assignment.scope,
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
      roleAssignmentScheduleRequestId: requestId,
      status: 'Provisioned',
      startDateTime: new Date(this.clock.now() - 3_600_000).toISOString(),
      endDateTime: assignment.endDateTime,
      createdAtMs: this.clock.now() - 3_600_000,
    };
    this.schedules.set(schedule.id.toLowerCase(), schedule);
    this.scheduleRequests.set(requestId.toLowerCase(), {
      id: requestId,
      name,
      scope: assignment.scope,
      principalId: assignment.principalId,
      roleDefinitionId: assignment.roleDefinitionId,
      requestType: assignment.requestType ?? 'AdminAssign',
      status: 'Provisioned',
      justification: assignment.justification,
      startDateTime: schedule.startDateTime,
      endDateTime: assignment.endDateTime,
      targetRoleAssignmentScheduleId: schedule.name,
      createdOn: schedule.startDateTime,
    });
    return { ...schedule };
  }

  roleAssignments(): StoredRoleAssignment[] {
    return [...this.assignments.values()].map((assignment) => ({ ...assignment }));
  }

  /** Live PIM schedules (not removed, not past their end on the fake clock). */
  liveSchedules(): StoredSchedule[] {
    this.settle();
    return [...this.schedules.values()]
      .filter((schedule) => this.isLive(schedule))
      .map((schedule) => ({ ...schedule }));
  }

  scheduleRequestsMade(): StoredScheduleRequest[] {
    this.settle();
    return [...this.scheduleRequests.values()].map((request) => ({ ...request }));
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<Handled> {
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    // The SDK joins `/{scope}` with a scope that starts with `/`, so paths arrive as `//subscriptions/...`.
    const path = (queryAt < 0 ? raw : raw.slice(0, queryAt)).replace(/\/{2,}/g, '/');
    const query = new URLSearchParams(queryAt < 0 ? '' : raw.slice(queryAt + 1));
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    try {
      if (/^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/.test(path)) return this.openIdConfiguration(res, path);
      if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path) && method === 'POST') return this.token(res, body);

      this.requests.push({ method, path, query: queryAt < 0 ? '' : decodeURIComponent(raw.slice(queryAt + 1)) });
      const isGraph = path.startsWith('/graph/');
      const audience = isGraph ? `${this.graphUrl}/.default` : `${this.url}/.default`;
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token === undefined || this.tokens.get(token) !== audience) {
        // ARM's common error code for a token issued for another resource (ARM "Common error codes":
        // InvalidAuthenticationTokenAudience, HTTP 401). Graph answers a wrong audience with its own
        // InvalidAuthenticationToken; the fake uses ARM's code for both, an assumption no test relies on.
        return send(
          res,
          401,
          armError('InvalidAuthenticationTokenAudience', `The access token is not for ${audience}.`),
        );
      }
      // Decided as the request arrives, before the time it takes (setLatency) passes.
      const admission = isGraph ? undefined : this.throttling.admit(method, canonicalScope(path), FAKE_CLIENT_ID);
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      // Test control (failNext), not a claim about Azure.
      const failure = this.failures.shift();
      if (failure !== undefined) {
        const headers: Record<string, string> =
          failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
        return send(res, failure.status, armError(failure.code ?? 'InjectedFailure', 'Injected by the test.'), headers);
      }
      if (isGraph) return this.graph(res, path, query);
      if (admission?.admitted === false) {
        return send(res, 429, armError(admission.code, admission.message), {
          'retry-after': String(admission.retryAfterSeconds),
        });
      }
      for (const [name, value] of Object.entries(admission?.headers ?? {})) res.setHeader(name, value);
      return this.arm(res, method, path, query, body);
    } catch (error) {
      // The fake's own: a bug in the fake shows as a 500, not as anything Azure would say.
      return send(res, 500, armError('InternalServerError', String(error)));
    }
  }

  /** The fields MSAL reads from Entra's OpenID metadata (Microsoft identity platform, "OpenID Connect on the Microsoft identity platform"). */
  private openIdConfiguration(res: ServerResponse, path: string): Handled {
    const tenant = path.split('/')[1] ?? FAKE_TENANT_ID;
    const base = `${this.url}/${tenant}`;
    return send(res, 200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      issuer: `${base}/v2.0`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    });
  }

  private token(res: ServerResponse, body: string): Handled {
    const form = new URLSearchParams(body);
    if (form.get('client_id') !== FAKE_CLIENT_ID || form.get('client_secret') !== FAKE_CLIENT_SECRET) {
      // Entra's answer to a wrong secret: OAuth2 `invalid_client` with AADSTS7000215 (Microsoft identity platform,
      // "Microsoft Entra authentication and authorization error codes"), with HTTP 401 as RFC 6749 5.2 allows.
      return send(res, 401, {
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret provided.',
        error_codes: [7000215],
      });
    }
    const scope =
      form
        .get('scope')
        ?.split(' ')
        .find((item) => item.endsWith('/.default')) ?? '';
    const token = `fake-token-${this.tokens.size + 1}`;
    this.tokens.set(token, scope);
    // The client-credentials success response (Microsoft identity platform, "OAuth 2.0 client credentials flow"):
    // expires_in 3599 as Entra gives it.
    return send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }

  private graph(res: ServerResponse, path: string, query: URLSearchParams): Handled {
    // Graph's error codes and body shape (`error.code`, `error.message`, `error.innerError`) are those of Microsoft
    // Graph "Error responses and resource types" (learn.microsoft.com/graph/errors): Request_ResourceNotFound (404),
    // Authorization_RequestDenied (403, the directory's wording for missing User.Read.All), Request_UnsupportedQuery
    // (400). Only the one $filter the bot sends is understood; any other is refused, stricter than Graph.
    if (path !== '/graph/v1.0/users') return send(res, 404, graphError('Request_ResourceNotFound', 'No such route.'));
    if (this.denied.has('graph')) {
      return send(
        res,
        403,
        graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
      );
    }
    const filter = /^mail eq '((?:[^']|'')*)' or userPrincipalName eq '((?:[^']|'')*)'$/.exec(
      query.get('$filter') ?? '',
    );
    if (!filter) return send(res, 400, graphError('Request_UnsupportedQuery', 'Unsupported query.'));
    // OData escapes a quote as two quotes. Graph compares mail and userPrincipalName without case (Entra matches
    // these addresses case-insensitively; Graph's `users` $filter page does not state it, so this is an assumption
    // grounded in the directory's behaviour that addresses are not case-sensitive).
    const mail = (filter[1] ?? '').replace(/''/g, "'").toLowerCase();
    const upn = (filter[2] ?? '').replace(/''/g, "'").toLowerCase();
    const found = this.users.filter(
      (user) => user.mail?.toLowerCase() === mail || user.userPrincipalName?.toLowerCase() === upn,
    );
    return send(res, 200, { '@odata.context': 'users(id)', value: found.map((user) => ({ id: user.id })) });
  }

  private arm(res: ServerResponse, method: string, path: string, query: URLSearchParams, body: string): Handled {
    const lower = path.toLowerCase();
    const at = lower.lastIndexOf(AUTHORIZATION);
    // ARM's answer for a path no provider serves (ARM "Common error codes": InvalidResourceType, 404).
    if (at < 0) return send(res, 404, armError('InvalidResourceType', 'No such route.'));
    this.settle();
    // PIM's documentation addresses a subscription as /providers/Microsoft.Subscription/subscriptions/<id>
    // (GetRoleAssignmentScheduleRequestByName.json) as well as /subscriptions/<id>: both name the same place.
    const scope = canonicalScope(path.slice(0, at));
    const [collection, name, extra] = path.slice(at + AUTHORIZATION.length).split('/');
    if (extra !== undefined || collection === undefined)
      return send(res, 404, armError('InvalidResourceType', 'No such route.'));
    const action = `Microsoft.Authorization/${collection}/${method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write'}`;
    if (this.denied.has(action)) {
      // ARM's wording for a missing permission (Microsoft Learn, "Troubleshoot Azure RBAC": "The client '<id>' with
      // object id '<id>' does not have authorization to perform action ... over scope ...", code AuthorizationFailed).
      return send(
        res,
        403,
        armError(
          'AuthorizationFailed',
          `The client '${FAKE_CLIENT_ID}' with object id '${FAKE_CLIENT_ID}' does not have authorization to perform ` +
            `action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please ` +
            'refresh your credentials.',
        ),
      );
    }
    const parsed = body === '' ? {} : (JSON.parse(body) as { properties?: Record<string, unknown> });
    const properties = parsed.properties ?? {};
    switch (`${method} ${collection.toLowerCase()}${name === undefined ? '' : '/'}`) {
      case 'PUT roleassignments/':
        return this.putRoleAssignment(res, scope, name ?? '', properties);
      case 'GET roleassignments/':
        return this.getRoleAssignment(res, scope, name ?? '');
      case 'DELETE roleassignments/':
        return this.deleteRoleAssignment(res, scope, name ?? '');
      case 'GET roleassignments':
        return this.listRoleAssignments(res, path, scope, query);
      case 'PUT roleassignmentschedulerequests/':
        return this.putScheduleRequest(res, scope, name ?? '', properties);
      case 'GET roleassignmentschedulerequests/':
        return this.getScheduleRequest(res, scope, name ?? '');
      case 'GET roleassignmentschedulerequests':
        return this.listScheduleRequests(res, path, scope, query);
      case 'GET roleassignmentschedules':
        return this.listSchedules(res, path, scope, query);
      default:
        // The fake's own: an operation it does not model, not a claim that Azure lacks it.
        return send(res, 405, armError('MethodNotAllowed', `${method} ${path} is not faked.`));
    }
  }

  /**
   * Azure's answer when the principal or the role definition does not exist; undefined when both do. Codes and
   * wording from Microsoft Learn, "Troubleshoot Azure RBAC": `PrincipalNotFound` ("Principal <id> does not exist in
   * the directory <tenant>") and `RoleDefinitionDoesNotExist` ("The specified role definition with ID '<id>' does
   * not exist"), both 400. A role definition ID under another subscription counts as missing, as there.
   */
  private refusePrincipalOrRole(
    res: ServerResponse,
    scope: string,
    properties: Record<string, unknown>,
  ): Handled | undefined {
    const principalId = String(properties.principalId ?? '');
    if (!this.users.some((user) => user.id === principalId)) {
      return send(
        res,
        400,
        armError(
          'PrincipalNotFound',
          `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${FAKE_TENANT_ID}.`,
        ),
      );
    }
    const roleDefinitionId = String(properties.roleDefinitionId ?? '');
    const match =
      /^(\/subscriptions\/[^/]+|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i.exec(
        roleDefinitionId,
      );
    const owner = match?.[1]?.toLowerCase();
    if (
      !match ||
      !this.roleDefinitions.has((match[2] ?? '').toLowerCase()) ||
      (owner !== undefined && !scope.toLowerCase().startsWith(owner))
    ) {
      return send(
        res,
        400,
        armError(
          'RoleDefinitionDoesNotExist',
          `The specified role definition with ID '${roleDefinitionId}' does not exist.`,
        ),
      );
    }
    return undefined;
  }

  private putRoleAssignment(
    res: ServerResponse,
    scope: string,
    name: string,
    properties: Record<string, unknown>,
  ): Handled {
    const refused = this.refusePrincipalOrRole(res, scope, properties);
    if (refused) return refused;
    const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    const principalId = String(properties.principalId);
    const roleDefinitionId = String(properties.roleDefinitionId);
    const existing = this.assignments.get(id.toLowerCase());
    if (existing) {
      if (existing.principalId !== principalId || roleGuid(existing.roleDefinitionId) !== roleGuid(roleDefinitionId)) {
        // Microsoft Learn, "Troubleshoot Azure RBAC": RoleAssignmentUpdateNotPermitted, "Tenant ID, application ID,
        // principal ID, and scope are not allowed to be updated"; a PUT of the same body again is an idempotent 200
        // (RoleAssignments_Create in authorization's roleAssignmentsCalls.json answers 200 or 201).
        return send(
          res,
          400,
          armError(
            'RoleAssignmentUpdateNotPermitted',
            'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
          ),
        );
      }
      if (typeof properties.description === 'string') existing.description = properties.description;
      return send(res, 200, assignmentResource(existing));
    }
    const duplicate = [...this.assignments.values()].some(
      (other) =>
        sameText(other.scope, scope) &&
        other.principalId === principalId &&
        roleGuid(other.roleDefinitionId) === roleGuid(roleDefinitionId),
    );
    // Microsoft Learn, "Troubleshoot Azure RBAC": a second assignment of the same role to the same principal at the
    // same scope under another name is 409 RoleAssignmentExists, "The role assignment already exists."
    if (duplicate) return send(res, 409, armError('RoleAssignmentExists', 'The role assignment already exists.'));
    if (this.roleAssignmentRoom <= 0) {
      return send(
        res,
        400,
        armError('RoleAssignmentLimitExceeded', 'No more role assignments can be created for this subscription.'),
      );
    }
    this.roleAssignmentRoom -= 1;
    const stored: StoredRoleAssignment = {
      id,
      name,
      scope,
      roleDefinitionId,
      principalId,
      principalType: String(properties.principalType ?? 'User'),
      ...(typeof properties.description === 'string' && { description: properties.description }),
    };
    this.assignments.set(id.toLowerCase(), stored);
    return send(res, 201, assignmentResource(stored));
  }

  private getRoleAssignment(res: ServerResponse, scope: string, name: string): Handled {
    const stored = this.assignments.get(
      `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`.toLowerCase(),
    );
    // RoleAssignments_Get answers 404 with ARM's ErrorResponse for a name it does not hold (the spec names only the
    // shape); the code RoleAssignmentNotFound is an assumption, which the bot does not read.
    if (!stored)
      return send(res, 404, armError('RoleAssignmentNotFound', `The role assignment '${name}' is not found.`));
    return send(res, 200, assignmentResource(stored));
  }

  private deleteRoleAssignment(res: ServerResponse, scope: string, name: string): Handled {
    const key = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`.toLowerCase();
    const stored = this.assignments.get(key);
    // RoleAssignments_Delete (roleAssignmentsCalls.json): 200 with the deleted assignment, 204 when there was none.
    if (!stored) return send(res, 204, undefined);
    this.assignments.delete(key);
    return send(res, 200, assignmentResource(stored));
  }

  private listRoleAssignments(res: ServerResponse, path: string, scope: string, query: URLSearchParams): Handled {
    const filter = listFilter(query);
    if (filter === undefined) return send(res, 400, armError('InvalidFilterInQueryString', 'Unsupported $filter.'));
    const matching = [...this.assignments.values()].filter((assignment) => filter(assignment, scope));
    return this.page(res, path, query, matching.map(assignmentResource));
  }

  /** One page of a listing, with a `nextLink` (absolute, carrying the query and a `$skipToken`) when more follow. */
  private page(res: ServerResponse, path: string, query: URLSearchParams, items: unknown[]): Handled {
    const skip = Number(query.get('$skipToken') ?? '0');
    const value = items.slice(skip, skip + this.pageSize);
    if (skip + this.pageSize >= items.length) return send(res, 200, { value });
    const next = new URLSearchParams(query);
    next.set('$skipToken', String(skip + this.pageSize));
    return send(res, 200, { value, nextLink: `${this.url}${path}?${next.toString()}` });
  }

  private putScheduleRequest(
    res: ServerResponse,
    scope: string,
    name: string,
    properties: Record<string, unknown>,
  ): Handled {
    const id = `${scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}`;
    // A schedule request is never replayed or updated: a second PUT of a name ARM already holds is refused, whatever
    // its body (Azure/bicep-types-az#1431, Azure/bicep#12472: "A role assignment request with Id: <name> already
    // exists"). A PUT that was refused stores nothing, so the same name can be sent again: terraform-provider-azurerm
    // re-sends one removal name until ActiveDurationTooShort stops (pim_active_role_assignment_resource.go).
    if (this.scheduleRequests.has(id.toLowerCase())) {
      return send(
        res,
        409,
        armError('RoleAssignmentRequestExists', `A role assignment request with Id: ${name} already exists`),
      );
    }
    const refused = this.refusePrincipalOrRole(res, scope, properties);
    if (refused) return refused;
    const requestType = String(properties.requestType ?? '');
    const principalId = String(properties.principalId);
    const roleDefinitionId = String(properties.roleDefinitionId);
    const schedule = [...this.schedules.values()].find(
      (candidate) =>
        this.isLive(candidate) &&
        sameText(candidate.scope, scope) &&
        candidate.principalId === principalId &&
        roleGuid(candidate.roleDefinitionId) === roleGuid(roleDefinitionId),
    );
    const scheduleInfo = properties.scheduleInfo as
      | { startDateTime?: string; expiration?: { type?: string; endDateTime?: string } }
      | undefined;
    const endDateTime = scheduleInfo?.expiration?.endDateTime;
    const now = this.clock.now();
    const request: StoredScheduleRequest = {
      id,
      name,
      scope,
      principalId,
      roleDefinitionId,
      requestType,
      status: 'Accepted',
      ...(typeof properties.justification === 'string' && { justification: properties.justification }),
      ...(scheduleInfo?.startDateTime !== undefined && { startDateTime: scheduleInfo.startDateTime }),
      ...(endDateTime !== undefined && { endDateTime }),
      ...(typeof properties.targetRoleAssignmentScheduleId === 'string' && {
        targetRoleAssignmentScheduleId: properties.targetRoleAssignmentScheduleId,
      }),
      createdOn: new Date(now).toISOString(),
    };
    // PIM's code for its 5-minute rule on removal, ActiveDurationTooShort, as terraform-provider-azurerm matches it
    // (pim_active_role_assignment_resource.go retries on it); the message text is the fake's rendering.
    const tooShort = armError(
      'ActiveDurationTooShort',
      'The Active duration is too short. Miniumum Required is 5 minutes.',
    );
    let apply: (at: number) => string;
    switch (requestType) {
      case 'AdminAssign': {
        // PIM refuses to assign what is already active. Code, wording and status (400 RoleAssignmentExists) are an
        // assumption: PIM documents none of them; they mirror ARM's RoleAssignmentExists for plain assignments.
        if (schedule) return send(res, 400, armError('RoleAssignmentExists', 'The Role assignment already exists.'));
        // The fake's own: it models only the expiration the bot sends, not a claim that PIM refuses others.
        if (scheduleInfo?.expiration?.type !== 'AfterDateTime' || endDateTime === undefined) {
          return send(res, 400, armError('InvalidRequest', 'The fake expects an AfterDateTime expiration.'));
        }
        // Microsoft Learn states the minimum but not ARM's code for it; the fake answers as ARM answers the same
        // rule on removal.
        if (Date.parse(endDateTime) - now < this.minimumActiveMs) return send(res, 400, tooShort);
        apply = (at) => {
          const created: StoredSchedule = {
            id: `${scope}/providers/Microsoft.Authorization/roleAssignmentSchedules/${name}`,
            name,
            scope,
            roleDefinitionId,
            principalId,
            roleAssignmentScheduleRequestId: id,
            status: 'Provisioned',
            // PIM starts the schedule when it has provisioned it, not when asked (terraform-provider-azurerm: the
            // start "advances in short intervals until the request has been fully processed").
            startDateTime: new Date(Math.max(at, Date.parse(scheduleInfo.startDateTime ?? '') || at)).toISOString(),
            endDateTime: this.adjustedEnd(endDateTime),
            createdAtMs: at,
          };
          this.schedules.set(created.id.toLowerCase(), created);
          request.targetRoleAssignmentScheduleId = created.name;
          return 'Provisioned';
        };
        break;
      }
      case 'AdminExtend':
      case 'AdminUpdate': {
        // RoleAssignmentDoesNotExist for changing or removing nothing, and InvalidScheduleExtension for an extension
        // that does not extend, are assumptions: Azure documents neither code. They make a bot that acts on an
        // assignment that has gone fail loudly rather than succeed against the fake.
        if (!schedule)
          return send(res, 400, armError('RoleAssignmentDoesNotExist', 'The Role assignment does not exist.'));
        if (endDateTime === undefined) return send(res, 400, armError('InvalidRequest', 'An end time is required.'));
        const longer = schedule.endDateTime === undefined || Date.parse(endDateTime) > Date.parse(schedule.endDateTime);
        if (requestType === 'AdminExtend' && !longer) {
          return send(
            res,
            400,
            armError('InvalidScheduleExtension', 'An extension must end later than the assignment.'),
          );
        }
        apply = () => {
          if (!this.isLive(schedule)) return 'Failed';
          schedule.endDateTime = this.adjustedEnd(endDateTime);
          schedule.roleAssignmentScheduleRequestId = id;
          request.targetRoleAssignmentScheduleId = schedule.name;
          return 'Provisioned';
        };
        break;
      }
      case 'AdminRemove': {
        if (!schedule)
          return send(res, 400, armError('RoleAssignmentDoesNotExist', 'The Role assignment does not exist.'));
        if (now - schedule.createdAtMs < this.minimumActiveMs) return send(res, 400, tooShort);
        request.targetRoleAssignmentScheduleId = schedule.name;
        apply = () => {
          schedule.status = 'Revoked';
          return 'Revoked';
        };
        break;
      }
      default:
        // The fake's own: request types it does not model (SelfActivate...), not a claim that PIM refuses them.
        return send(res, 400, armError('InvalidRequestType', `The fake does not handle ${requestType}.`));
    }
    this.scheduleRequests.set(id.toLowerCase(), request);
    const outcome = this.nextOutcomes.shift();
    this.pending.push({
      request,
      stages: requestType === 'AdminRemove' ? REVOKING_STAGES : PROVISIONING_STAGES,
      acceptedAtMs: now,
      readyAtMs: now + this.provisioningDelayMs,
      apply: outcome === undefined ? apply : () => outcome,
    });
    this.settle();
    // RoleAssignmentScheduleRequests_Create (RoleAssignmentScheduleRequest.json, 2020-10-01) answers 201 with the
    // request, whose status is still one of the pending RequestStatus values while PIM works on it.
    return send(res, 201, scheduleRequestResource(request));
  }

  /**
   * Applies every pending request whose time has come, in the order PIM accepted them, and moves the others'
   * status along their stages. Run before each answer, so what the fake shows follows its clock.
   */
  private settle(): void {
    const now = this.clock.now();
    const waiting: PendingRequest[] = [];
    for (const item of this.pending) {
      if (now >= item.readyAtMs) {
        item.request.status = item.apply(now);
        continue;
      }
      const share = (now - item.acceptedAtMs) / (item.readyAtMs - item.acceptedAtMs);
      item.request.status =
        item.stages[Math.min(item.stages.length - 1, Math.floor(share * item.stages.length))] ?? 'Accepted';
      waiting.push(item);
    }
    this.pending = waiting;
  }

  private adjustedEnd(endDateTime: string): string {
    return new Date(Date.parse(endDateTime) + this.scheduleEndAdjustmentMs).toISOString();
  }

  private getScheduleRequest(res: ServerResponse, scope: string, name: string): Handled {
    const stored = this.scheduleRequests.get(
      `${scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}`.toLowerCase(),
    );
    // 404 with ARM's ErrorResponse, as the spec's `default` response allows; the code is an assumption (Azure does
    // not document it), and nothing in the bot reads it.
    if (!stored)
      return send(res, 404, armError('RoleAssignmentScheduleRequestNotFound', `No request named '${name}'.`));
    return send(res, 200, scheduleRequestResource(stored));
  }

  private listScheduleRequests(res: ServerResponse, path: string, scope: string, query: URLSearchParams): Handled {
    const filter = listFilter(query);
    if (filter === undefined) return send(res, 400, armError('InvalidFilterInQueryString', 'Unsupported $filter.'));
    const matching = [...this.scheduleRequests.values()].filter((request) => filter(request, scope));
    return this.page(res, path, query, matching.map(scheduleRequestResource));
  }

  private listSchedules(res: ServerResponse, path: string, scope: string, query: URLSearchParams): Handled {
    const filter = listFilter(query);
    if (filter === undefined) return send(res, 400, armError('InvalidFilterInQueryString', 'Unsupported $filter.'));
    const value = [...this.schedules.values()]
      .filter((schedule) => this.isLive(schedule) && filter(schedule, scope))
      .map((schedule) => ({
        id: pimScopeForm(schedule.id),
        name: schedule.name,
        type: 'Microsoft.Authorization/roleAssignmentSchedules',
        properties: {
          scope: pimScopeForm(schedule.scope),
          roleDefinitionId: schedule.roleDefinitionId,
          principalId: schedule.principalId,
          principalType: 'User',
          ...(schedule.roleAssignmentScheduleRequestId !== undefined && {
            roleAssignmentScheduleRequestId: pimScopeForm(schedule.roleAssignmentScheduleRequestId),
          }),
          assignmentType: 'Assigned',
          memberType: 'Direct',
          status: schedule.status,
          startDateTime: schedule.startDateTime,
          ...(schedule.endDateTime !== undefined && { endDateTime: schedule.endDateTime }),
        },
      }));
    return this.page(res, path, query, value);
  }

  /** Azure ends a PIM assignment itself at its end time; removed ones are gone too. */
  private isLive(schedule: StoredSchedule): boolean {
    return (
      schedule.status !== 'Revoked' &&
      (schedule.endDateTime === undefined || Date.parse(schedule.endDateTime) > this.clock.now())
    );
  }
}

function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-azure-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Proof that a handler answered: every path through one ends in `return send(...)`. */
type Handled = 'handled';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): Handled {
  if (body === undefined) res.writeHead(status, headers).end();
  else
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  return 'handled';
}

function armError(code: string, message: string): unknown {
  return { error: { code, message } };
}

function graphError(code: string, message: string): unknown {
  return { error: { code, message, innerError: { 'request-id': randomUUID() } } };
}

function roleGuid(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').pop() ?? '').toLowerCase();
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Azure lists what applies at, above or below the scope asked about. */
function relatedScopes(a: string, b: string): boolean {
  const x = `${a.toLowerCase()}/`;
  const y = `${b.toLowerCase()}/`;
  return x.startsWith(y) || y.startsWith(x);
}

const AT_SCOPE = /^atScope\(\)$/;
const PRINCIPAL = /^principalId eq '([^']+)'$/;

/**
 * The listing filters the bot uses, as Azure documents them: none (at, above and below the scope), `atScope()`
 * (at or above the scope only) and `principalId eq '<id>'` (that principal's, at, above or below). Anything else
 * is undefined, which the fake answers with 400 as Azure does for filters it does not support. Sources: the
 * `$filter` parameter descriptions of RoleAssignments_ListForScope (roleAssignmentsCalls.json) and of
 * RoleAssignmentSchedules_ListForScope / RoleAssignmentScheduleRequests_ListForScope ("Use $filter=atScope() ...
 * Use $filter=principalId eq {id} ..."). The 400 code InvalidFilterInQueryString is an assumption.
 */
function listFilter(
  query: URLSearchParams,
): ((item: { scope: string; principalId: string }, scope: string) => boolean) | undefined {
  const filter = query.get('$filter');
  if (filter === null) return (item, scope) => relatedScopes(item.scope, scope);
  if (AT_SCOPE.test(filter)) return (item, scope) => atOrAbove(item.scope, scope);
  const principal = PRINCIPAL.exec(filter)?.[1];
  if (principal !== undefined)
    return (item, scope) => relatedScopes(item.scope, scope) && item.principalId === principal;
  return undefined;
}

/** True when `a` is `b` or one of its ancestors. */
function atOrAbove(a: string, b: string): boolean {
  return `${b.toLowerCase()}/`.startsWith(`${a.toLowerCase()}/`);
}

function assignmentResource(assignment: StoredRoleAssignment): unknown {
  return {
    id: assignment.id,
    name: assignment.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      scope: assignment.scope,
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
      principalType: assignment.principalType,
      ...(assignment.description !== undefined && { description: assignment.description }),
    },
  };
}

function scheduleRequestResource(request: StoredScheduleRequest): unknown {
  // The shape of GetRoleAssignmentScheduleRequestByName.json: the request's own id and scope are in the
  // /subscriptions/<id> form, and targetRoleAssignmentScheduleId is the bare GUID that names the schedule.
  return {
    id: request.id,
    name: request.name,
    type: 'Microsoft.Authorization/roleAssignmentScheduleRequests',
    properties: {
      scope: request.scope,
      principalId: request.principalId,
      principalType: 'User',
      roleDefinitionId: request.roleDefinitionId,
      requestType: request.requestType,
      status: request.status,
      ...(request.justification !== undefined && { justification: request.justification }),
      ...(request.targetRoleAssignmentScheduleId !== undefined && {
        targetRoleAssignmentScheduleId: request.targetRoleAssignmentScheduleId,
      }),
      ...((request.startDateTime !== undefined || request.endDateTime !== undefined) && {
        scheduleInfo: {
          ...(request.startDateTime !== undefined && { startDateTime: request.startDateTime }),
          expiration:
            request.endDateTime !== undefined
              ? { type: 'AfterDateTime', endDateTime: request.endDateTime, duration: null }
              : { type: 'NoExpiration', endDateTime: null, duration: null },
        },
      }),
      createdOn: request.createdOn,
    },
  };
}

const SUBSCRIPTION_PREFIX = /^\/providers\/Microsoft\.Subscription(?=\/subscriptions\/)/i;

/** A scope as the fake stores it: /subscriptions/<id>..., whichever of PIM's two forms it arrived in. */
function canonicalScope(scope: string): string {
  return scope.replace(SUBSCRIPTION_PREFIX, '');
}

/**
 * How PIM's schedule listings write a subscription-scope ID: GetRoleAssignmentSchedulesByScope.json gives the
 * schedule's `id`, `scope` and `roleAssignmentScheduleRequestId` as /providers/Microsoft.Subscription/subscriptions/
 * <id>/..., while role definition IDs (and the schedule request's own answer) stay /subscriptions/<id>/....
 * Resource groups and resources below a subscription are written as the bot wrote them.
 */
function pimScopeForm(idOrScope: string): string {
  return /^\/subscriptions\/[^/]+(?:\/providers\/Microsoft\.Authorization\/.*)?$/i.test(idOrScope)
    ? `/providers/Microsoft.Subscription${idOrScope}`
    : idOrScope;
}

/**
 * The production Azure provider pointed at a fake: only the credential and the trust in the fake's certificate
 * are injected, since the SDK refuses bearer tokens over plain HTTP; `overrides` change the other options.
 */
export function azureProviderFor(fake: FakeAzure, overrides: Partial<AzureProviderOptions> = {}): AzureProvider {
  return new AzureProvider({
    logger: createLogger({ level: 'silent' }),
    resourceManagerEndpoint: fake.url,
    graphEndpoint: fake.graphUrl,
    credential: fake.credential(),
    tlsOptions: { ca: fake.ca },
    ...overrides,
  });
}

/**
 * The same on the fake's clock, with retries and PIM polling at test speed (or as `overrides` say), and its log
 * lines kept for the test to read.
 */
export function loggedAzureProvider(
  fake: FakeAzure,
  overrides: Partial<AzureProviderOptions> = {},
): { provider: AzureProvider; logs: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const provider = azureProviderFor(fake, {
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } }),
    clock: fake.clock,
    retry: { baseMs: 1, capMs: 20 },
    pimWait: { intervalMs: 20, maxIntervalMs: 50 },
    ...overrides,
  });
  return { provider, logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
