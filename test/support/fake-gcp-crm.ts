import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overrideEnv } from './env-override';

/**
 * Lets Google's Node clients send HTTP inside jest. Their HTTP layer (gaxios) loads node-fetch with a dynamic
 * `import()`, which jest refuses unless run with `--experimental-vm-modules`; it uses `window.fetch` instead when
 * a `window` global exists, so this provides one holding Node's own fetch. Requests still go over real HTTP.
 * Call before the first Google call in a test file; the returned function undoes it.
 */
export function letGoogleClientsFetchInJest(): () => void {
  const scope = globalThis as { window?: unknown };
  const previous = scope.window;
  scope.window = { fetch: globalThis.fetch.bind(globalThis) };
  return () => {
    if (previous === undefined) delete scope.window;
    else scope.window = previous;
  };
}

/** An IAM condition as stored: proto3 JSON, so empty strings are the same as absent and are dropped. */
export interface FakeCondition {
  title?: string;
  description?: string;
  expression?: string;
  location?: string;
}

export interface FakeBinding {
  role: string;
  members: string[];
  condition?: FakeCondition;
}

/** One resource's allow policy as the fake holds it. */
export interface FakePolicy {
  version: number;
  /** Base64, as the REST API sends it; changes on every write. */
  etag: string;
  bindings: FakeBinding[];
}

export type FakeCrmMethod = 'getIamPolicy' | 'setIamPolicy';

/** One request the fake answered, in arrival order. */
export interface FakeCrmCall {
  method: FakeCrmMethod | 'token';
  /** `projects/p`, `folders/1`, `organizations/1`; empty for the token endpoint. */
  resource: string;
  status: number;
  /** The parsed JSON body (form fields for the token endpoint). */
  body: Record<string, unknown>;
  /** The bearer token the call carried, if any. */
  bearer?: string;
}

/**
 * Canonical status names for the HTTP statuses the fake answers with: the google.rpc.Code to HTTP mapping of
 * Google's API design guide, "Errors" (cloud.google.com/apis/design/errors), which also gives the error body shape
 * `{ error: { code, message, status } }` that {@link googleError} writes.
 */
const RPC_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** "Quotas and limits" of IAM (cloud.google.com/iam/quotas): principals in all bindings of one allow policy. */
const MAX_PRINCIPALS = 1500;
/**
 * "Role bindings in an allow policy that include the same role and the same principal, but different condition
 * expressions": 20 (cloud.google.com/iam/quotas).
 */
const MAX_CONDITIONAL_PER_ROLE_AND_PRINCIPAL = 20;
/**
 * "Don't add more than 100 conditional role bindings to a single allow policy" (IAM Conditions overview,
 * cloud.google.com/iam/docs/conditions-overview). Google does not document how setIamPolicy answers past it;
 * the fake refuses, possibly stricter than Google, so nothing the bot does can rely on getting past it.
 */
const MAX_CONDITIONAL_PER_POLICY = 100;
/**
 * IAM Conditions overview (cloud.google.com/iam/docs/conditions-overview): "You cannot use conditions when you grant
 * legacy basic roles, including Owner, Editor, and Viewer". The refusal's wording is the fake's own.
 */
const BASIC_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);
/**
 * Member forms of the Binding reference (cloud.google.com/resource-manager/reference/rest/Shared.Types/Binding),
 * `deleted:` ones included: Google returns a removed account as `deleted:user:<email>?uid=<id>` and accepts the
 * policy back with it, so a read-modify-write must be able to carry it.
 */
const MEMBER =
  /^(user|group|serviceAccount|domain):[^\s:]+$|^principal(Set)?:\/\/\S+$|^deleted:(user|group|serviceAccount):[^\s:?]+\?uid=\d+$/;
/** Member kinds whose identifier is an address Google matches to an account without case. */
const ACCOUNT_MEMBER = /^(user|group|serviceAccount|domain):([^\s:/[\]]+)$/;
const PATH = /^\/v3\/((?:projects|folders|organizations)\/[^/:]+):(getIamPolicy|setIamPolicy)$/;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * Accounts every fake knows unless told otherwise: names whose canonical case is not all lowercase, so that a
 * grant to the lowercase address a Slack profile gives is stored and read back in the account's own case.
 */
export const DEFAULT_GCP_ACCOUNTS: readonly string[] = [
  'user:Jane.Doe@example.com',
  'group:Platform-Oncall@example.com',
];

export interface FakeGcpCrmOptions {
  /**
   * The directory of accounts the fake knows, each as the member in its canonical case (`user:Jane.Doe@…`);
   * {@link DEFAULT_GCP_ACCOUNTS} when absent.
   */
  accounts?: readonly string[];
}

interface InjectedFailure {
  status: number;
  message: string;
  only?: FakeCrmMethod;
}

/**
 * A local Cloud Resource Manager v3 as the Node client speaks it in REST ("fallback") mode:
 * `POST /v3/<resource>:getIamPolicy` with `{ options: { requestedPolicyVersion } }` and
 * `POST /v3/<resource>:setIamPolicy` with `{ policy }`, for projects, folders and organizations. It is as strict
 * as Google where the bot could go wrong and stricter where Google is lenient: a write needs the current etag
 * (a stale or missing one is 409 ABORTED), a policy with conditions needs version 3 both to read and to write,
 * members of accounts in its directory are stored and returned in the account's own case, and the limits on
 * principals and conditional bindings are enforced. Every call needs a bearer token the fake's own `/token`
 * endpoint issued, through the workload-identity-federation exchange that Application Default Credentials
 * perform for the credentials file in {@link FakeGcpCrm.credentialsFile}.
 *
 * It does not throttle. Google states the quota (up to 10 reads and 10 writes a second per consumer project,
 * Resource Manager "Quotas and limits") but not how it is enforced: the window, any burst, or when a 429 is
 * answered instead of a queue. A bucket here would be a guess the bot's own pacing could be tuned to; throttled
 * answers are injected instead (`failNext(n, 429)`), and docs/clouds/gcp.md says what is not known.
 */
export class FakeGcpCrm {
  /** Every answered request, oldest first. */
  readonly calls: FakeCrmCall[] = [];

  private readonly policies = new Map<string, FakePolicy>();
  private readonly failures: InjectedFailure[] = [];
  private readonly afterRead = new Map<string, (policy: FakePolicy) => void>();
  private readonly denied = new Set<string>();
  private readonly unknownMembers = new Set<string>();
  private readonly issuedTokens = new Set<string>();
  private readonly sockets = new Set<Socket>();
  /** Canonical members of the directory's accounts, by {@link accountKey}. */
  private readonly accounts: ReadonlyMap<string, string>;
  private etagCounter = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly dir: string,
    /** The subject token the credentials file points at; the token endpoint accepts only this one. */
    private readonly subjectToken: string,
    readonly port: number,
    accounts: readonly string[],
  ) {
    this.accounts = new Map(accounts.map((member) => [accountKey(member), member]));
  }

  /** Starts the fake on 127.0.0.1 and writes an external-account credentials file pointing at it. */
  static async start(options: FakeGcpCrmOptions = {}): Promise<FakeGcpCrm> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), 'fake-gcp-crm-'));
    const fake = new FakeGcpCrm(
      server,
      dir,
      `subject-${randomBytes(12).toString('hex')}`,
      port,
      options.accounts ?? DEFAULT_GCP_ACCOUNTS,
    );
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      // The fake's own: a bug in the fake shows as 500 INTERNAL, not as anything Google would say.
      fake.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 500, message: String(error), status: 'INTERNAL' } }));
      });
    });
    fake.writeCredentials();
    return fake;
  }

  /** The value for `GCP_RESOURCE_MANAGER_ENDPOINT`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** An Application Default Credentials file (workload identity federation) whose token URL is this fake. */
  get credentialsFile(): string {
    return join(this.dir, 'credentials.json');
  }

  /** Replaces a resource's policy with these bindings under a fresh etag, as if someone else had written them. */
  seed(resource: string, bindings: FakeBinding[]): FakePolicy {
    const policy: FakePolicy = {
      version: bindings.some((binding) => binding.condition) ? 3 : 1,
      etag: this.nextEtag(),
      bindings: this.normalizeBindings(bindings),
    };
    this.policies.set(resource, policy);
    return clone(policy);
  }

  /** A copy of the resource's current policy (empty and version 1 for a resource nobody wrote). */
  policy(resource: string): FakePolicy {
    return clone(this.stored(resource));
  }

  /** The calls of one method, optionally on one resource. */
  callsOf(method: FakeCrmCall['method'], resource?: string): FakeCrmCall[] {
    return this.calls.filter(
      (call) => call.method === method && (resource === undefined || call.resource === resource),
    );
  }

  /** Successful writes to the resource. */
  writes(resource: string): number {
    return this.callsOf('setIamPolicy', resource).filter((call) => call.status === 200).length;
  }

  /** Calls as they arrive, before any delay or answer (`calls` records them once answered). */
  readonly arrivals: { method: FakeCrmMethod; resource: string }[] = [];
  private readonly delays: { method: FakeCrmMethod; ms: number }[] = [];
  private latencyMs = 0;

  /**
   * Test control, not a claim about Google's latency: every CRM call (not the token exchange) waits `ms` after it
   * arrives and before it takes effect, on top of any {@link delayNext}; 0 (the default, and after {@link reset})
   * answers at once. Calls wait side by side, as a cloud serving many connections would.
   */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /**
   * Test control, not a claim about Google's latency: holds the next `count` calls of `method` for `ms` before they
   * take effect. By default the fake answers at once; Google documents no latency for these methods.
   */
  delayNext(method: FakeCrmMethod, ms: number, count = 1): void {
    for (let i = 0; i < count; i += 1) this.delays.push({ method, ms });
  }

  /**
   * Test control, not a claim about Google: answers the next `count` CRM calls (optionally only of one method) with
   * this HTTP status and a Google-shaped error (status name from {@link RPC_STATUS}).
   */
  failNext(count: number, status: number, options: { only?: FakeCrmMethod; message?: string } = {}): void {
    for (let i = 0; i < count; i += 1) {
      this.failures.push({
        status,
        message: options.message ?? `injected ${RPC_STATUS[status] ?? status}`,
        ...(options.only && { only: options.only }),
      });
    }
  }

  /**
   * Test control: right after the next read of `resource` is answered, someone else writes it: `change` edits the stored
   * policy and the etag moves on, so a writer still holding the etag it read loses the race.
   */
  writeConcurrentlyAfterNextRead(resource: string, change: (policy: FakePolicy) => void): void {
    this.afterRead.set(resource, change);
  }

  /** True for an access token the fake's token endpoint issued (tokens stay valid across {@link reset}). */
  issued(token: string | undefined): boolean {
    return token !== undefined && this.issuedTokens.has(token);
  }

  /**
   * Test control: makes the caller lack an IAM permission, e.g. `resourcemanager.projects.setIamPolicy`. The answer
   * (403 PERMISSION_DENIED, "Permission '<p>' denied on resource '//cloudresourcemanager.googleapis.com/<r>' (or it
   * may not exist).") follows the format of Google's PERMISSION_DENIED messages; no spec page states it, so the
   * wording is an assumption. Permission names are those the Resource Manager REST reference lists for each method.
   */
  denyPermission(permission: string): void {
    this.denied.add(permission);
  }

  /**
   * Test control: makes writes naming this member (in any case) fail as Google does for a principal that does not
   * exist (see {@link normalizeBindings} for why this is not the default).
   */
  markMemberUnknown(member: string): void {
    this.unknownMembers.add(accountKey(member));
  }

  /** Forgets policies, injected failures, delays, latency and calls; issued tokens stay valid. */
  reset(): void {
    this.policies.clear();
    this.failures.length = 0;
    this.delays.length = 0;
    this.latencyMs = 0;
    this.arrivals.length = 0;
    this.afterRead.clear();
    this.denied.clear();
    this.unknownMembers.clear();
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeCredentials(): void {
    const subjectTokenFile = join(this.dir, 'subject-token');
    writeFileSync(subjectTokenFile, this.subjectToken);
    writeFileSync(
      this.credentialsFile,
      JSON.stringify({
        type: 'external_account',
        audience:
          '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/jit/providers/test',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${this.endpoint}/token`,
        credential_source: { file: subjectTokenFile },
      }),
    );
  }

  private stored(resource: string): FakePolicy {
    let policy = this.policies.get(resource);
    if (!policy) {
      policy = { version: 1, etag: this.nextEtag(), bindings: [] };
      this.policies.set(resource, policy);
    }
    return policy;
  }

  /** Policy.etag is bytes, base64 in JSON, and changes whenever the policy does (Shared.Types/Policy). */
  private nextEtag(): string {
    this.etagCounter += 1;
    return Buffer.from(`etag-${this.etagCounter}`).toString('base64');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'POST' && url.pathname === '/token') {
      this.exchangeToken(new URLSearchParams(text), res);
      return;
    }
    const match = PATH.exec(decodeURIComponent(url.pathname));
    if (req.method !== 'POST' || !match) {
      // The fake's own: a route it does not serve, not a claim about Google's answer.
      this.answer(
        res,
        { method: 'getIamPolicy', resource: '', body: {} },
        404,
        googleError(404, `no route ${req.method} ${url.pathname}`),
      );
      return;
    }
    const resource = match[1] as string;
    const method = match[2] as FakeCrmMethod;
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const call = { method, resource, body, ...(token !== undefined && { bearer: token }) };

    // Google's answer to a missing or unknown bearer token: 401 UNAUTHENTICATED, "Request had invalid
    // authentication credentials." (the example in cloud.google.com/apis/design/errors).
    if (token === undefined || !this.issuedTokens.has(token)) {
      this.answer(res, call, 401, googleError(401, 'Request had invalid authentication credentials.'));
      return;
    }
    this.arrivals.push({ method, resource });
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const delayIndex = this.delays.findIndex((delay) => delay.method === method);
    if (delayIndex !== -1) {
      const [delay] = this.delays.splice(delayIndex, 1) as [{ method: FakeCrmMethod; ms: number }];
      // The call takes effect after the delay even if the caller has gone meanwhile, as a slow cloud's would.
      await new Promise((resolve) => setTimeout(resolve, delay.ms));
    }
    const failureIndex = this.failures.findIndex((failure) => failure.only === undefined || failure.only === method);
    if (failureIndex !== -1) {
      const [failure] = this.failures.splice(failureIndex, 1) as [InjectedFailure];
      this.answer(res, call, failure.status, googleError(failure.status, failure.message));
      return;
    }
    const permission = `resourcemanager.${resource.split('/')[0]}.${method}`;
    if (this.denied.has(permission)) {
      this.answer(
        res,
        call,
        403,
        googleError(
          403,
          `Permission '${permission}' denied on resource '//cloudresourcemanager.googleapis.com/${resource}' (or it may not exist).`,
        ),
      );
      return;
    }
    if (method === 'getIamPolicy') this.getIamPolicy(res, call);
    else this.setIamPolicy(res, call);
  }

  private getIamPolicy(res: http.ServerResponse, call: Omit<FakeCrmCall, 'status'>): void {
    const policy = this.stored(call.resource);
    const requested = Number(
      (call.body.options as { requestedPolicyVersion?: unknown } | undefined)?.requestedPolicyVersion ?? 0,
    );
    // GetPolicyOptions.requestedPolicyVersion (Resource Manager REST reference, Shared.Types): "Requests for
    // policies with any conditional role bindings must specify version 3." How Google answers a lower version is
    // not documented there; the fake refuses with 400, so a client that forgets version 3 fails loudly.
    if (requested < 3 && policy.bindings.some((binding) => binding.condition)) {
      this.answer(
        res,
        call,
        400,
        googleError(400, 'The policy has conditional role bindings: request policy version 3.'),
      );
      return;
    }
    this.answer(res, call, 200, policy);
    const change = this.afterRead.get(call.resource);
    if (change) {
      this.afterRead.delete(call.resource);
      change(policy);
      policy.bindings = this.normalizeBindings(policy.bindings);
      policy.etag = this.nextEtag();
    }
  }

  private setIamPolicy(res: http.ServerResponse, call: Omit<FakeCrmCall, 'status'>): void {
    const current = this.stored(call.resource);
    const sent = call.body.policy as { version?: number; etag?: string; bindings?: FakeBinding[] } | undefined;
    // SetIamPolicyRequest.policy is REQUIRED (Resource Manager REST reference, setIamPolicy).
    if (!sent) {
      this.answer(res, call, 400, googleError(400, 'policy is required'));
      return;
    }
    // Policy.etag (Resource Manager REST reference, Shared.Types/Policy): the etag read is sent back so "their
    // change will be applied to the same version of the policy"; a stale one is 409 ABORTED (as google.iam.v2's
    // UpdatePolicyRequest states it: "the request fails with a 409 error code and ABORTED status"). Google accepts a
    // write with no etag at all and overwrites blindly; the fake refuses it too, stricter on purpose, so the bot
    // can never rely on an unconditioned overwrite.
    if (sent.etag !== current.etag) {
      this.answer(
        res,
        call,
        409,
        googleError(
          409,
          'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
        ),
      );
      return;
    }
    const duplicate = duplicateSpelling(sent.bindings ?? []);
    if (duplicate) {
      this.answer(res, call, 400, googleError(400, duplicate));
      return;
    }
    const bindings = this.normalizeBindings(sent.bindings ?? []);
    // Policy.version (Shared.Types/Policy): "Any operation that affects conditional role bindings must specify
    // version 3", including removing any binding from a policy that includes conditions.
    const conditional =
      bindings.some((binding) => binding.condition) || current.bindings.some((binding) => binding.condition);
    const problem =
      (conditional &&
        sent.version !== 3 &&
        'Policies with conditional role bindings must be written with version 3.') ||
      bindingProblem(bindings, this.unknownMembers);
    if (problem) {
      this.answer(res, call, 400, googleError(400, problem));
      return;
    }
    const updated: FakePolicy = { version: sent.version ?? 1, etag: this.nextEtag(), bindings };
    this.policies.set(call.resource, updated);
    this.answer(res, call, 200, updated);
  }

  /**
   * Stores bindings as Google returns them: empty condition fields dropped, and each member of an account the
   * directory knows in the account's own case, whatever case it was sent in. Google answers a binding sent as
   * `user:jane.doe@example.com` with `user:Jane.Doe@example.com`, and keeps doing so when the member is removed
   * and added again in lowercase (GoogleCloudPlatform/security-response-automation PR 191;
   * terraform-provider-google issues 5107 and 3880).
   *
   * A member of an account the directory does not know is stored as sent. Google refuses a user that does not
   * exist with 400 INVALID_ARGUMENT "User … does not exist" ({@link markMemberUnknown} models that per member);
   * refusing every unknown address by default would make every test list its people in the directory first,
   * for no behaviour of the bot's that depends on it.
   */
  // Empty condition fields are dropped because Google speaks proto3 JSON, which omits fields at their default
  // value (protobuf "ProtoJSON Format": "fields set to the default value are omitted").
  private normalizeBindings(bindings: FakeBinding[]): FakeBinding[] {
    return bindings.map((binding) => {
      const condition = binding.condition
        ? Object.fromEntries(Object.entries(binding.condition).filter(([, value]) => value !== '' && value != null))
        : undefined;
      return {
        role: binding.role,
        members: binding.members.map((member) => this.accounts.get(accountKey(member)) ?? member),
        ...(condition && Object.keys(condition).length > 0 && { condition }),
      };
    });
  }

  private exchangeToken(form: URLSearchParams, res: http.ServerResponse): void {
    const call = { method: 'token' as const, resource: '', body: Object.fromEntries(form) };
    // Security Token Service `v1/token` (cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token), an RFC 8693
    // token exchange: an unknown subject token is refused as OAuth2 `invalid_grant` (RFC 6749 section 5.2), and a
    // success carries issued_token_type, token_type Bearer and expires_in (3600, STS's usual lifetime).
    if (form.get('grant_type') !== TOKEN_EXCHANGE || form.get('subject_token') !== this.subjectToken) {
      this.answer(res, call, 400, { error: 'invalid_grant', error_description: 'unknown subject token' });
      return;
    }
    const accessToken = `fake-access-${randomBytes(12).toString('hex')}`;
    this.issuedTokens.add(accessToken);
    this.answer(res, call, 200, {
      access_token: accessToken,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  private answer(res: http.ServerResponse, call: Omit<FakeCrmCall, 'status'>, status: number, body: unknown): void {
    this.calls.push({ ...call, status });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/**
 * The case-free identity of a member as Google matches it to an account: the address of a `user:`, `group:`,
 * `serviceAccount:` or `domain:` member lowercased, anything else (`principal://…`, `deleted:…`) exactly.
 */
function accountKey(member: string): string {
  const match = ACCOUNT_MEMBER.exec(member);
  return match ? `${match[1]}:${(match[2] as string).toLowerCase()}` : member;
}

/**
 * A binding that names one account twice in different spellings. As reported in terraform-provider-google issue
 * 4276, Google answered such a write with 400 INVALID_ARGUMENT "Request contains an invalid argument.": the
 * payload failed while it held the lowercase address next to the account's own spelling, and passed with the
 * exact one. Google documents no such rule; the fake follows the report.
 */
function duplicateSpelling(bindings: FakeBinding[]): string | undefined {
  for (const binding of bindings) {
    const seen = new Map<string, string>();
    for (const member of binding.members ?? []) {
      const key = accountKey(member);
      const other = seen.get(key);
      if (other !== undefined && other !== member) return 'Request contains an invalid argument.';
      seen.set(key, member);
    }
  }
  return undefined;
}

function bindingProblem(bindings: FakeBinding[], unknownMembers: ReadonlySet<string>): string | undefined {
  let principals = 0;
  let conditional = 0;
  const conditionalByRoleAndPrincipal = new Map<string, number>();
  for (const binding of bindings) {
    // Binding.role is required (Shared.Types/Binding). Refusing a binding with no members is an assumption, stricter
    // than Google may be (the reference does not say); the bot never means to send one.
    if (!binding.role) return 'Every binding needs a role.';
    if (binding.members.length === 0) return `The binding for ${binding.role} has no members.`;
    if (binding.condition && BASIC_ROLES.has(binding.role)) {
      return `Conditions are not supported for the basic role ${binding.role}.`;
    }
    // Binding.condition is an Expr whose `expression` carries the CEL text (Shared.Types/Expr; IAM Conditions
    // overview, "Condition structure"); one without it is refused, wording the fake's own.
    if (binding.condition && !binding.condition.expression)
      return `The condition of ${binding.role} has no expression.`;
    for (const member of binding.members) {
      // Member forms of Shared.Types/Binding (see MEMBER); the wording is the fake's own.
      if (!MEMBER.test(member)) return `Invalid member ${member}.`;
      // 400 INVALID_ARGUMENT "User <email> does not exist." as Google words it (see normalizeBindings).
      if (unknownMembers.has(accountKey(member))) return `User ${member.replace(/^\w+:/, '')} does not exist.`;
      principals += 1;
    }
    if (!binding.condition) continue;
    conditional += 1;
    for (const principal of new Set(binding.members.map(accountKey))) {
      const key = `${binding.role} ${principal}`;
      const count = (conditionalByRoleAndPrincipal.get(key) ?? 0) + 1;
      conditionalByRoleAndPrincipal.set(key, count);
      // Google does not publish the wording of this refusal; the fake's names the limit (see the constant).
      if (count > MAX_CONDITIONAL_PER_ROLE_AND_PRINCIPAL) {
        return `The policy has more than ${MAX_CONDITIONAL_PER_ROLE_AND_PRINCIPAL} conditional role bindings of ${binding.role} for ${principal}: an allow policy can include at most ${MAX_CONDITIONAL_PER_ROLE_AND_PRINCIPAL} role bindings with the same role and the same principal but different condition expressions.`;
      }
    }
  }
  if (conditional > MAX_CONDITIONAL_PER_POLICY) {
    // As above, the wording is the fake's own.
    return `The policy has ${conditional} conditional role bindings: an allow policy can include at most ${MAX_CONDITIONAL_PER_POLICY}.`;
  }
  if (principals > MAX_PRINCIPALS) {
    // Google's own wording, thousands separators included (kubeflow/pipelines issue 1146,
    // terraform-provider-google issue 25093).
    return `The number of members in the policy (${principals.toLocaleString('en-US')}) is larger than the maximum allowed size ${MAX_PRINCIPALS.toLocaleString('en-US')}.`;
  }
  return undefined;
}

function googleError(code: number, message: string): unknown {
  return { error: { code, message, status: RPC_STATUS[code] ?? 'UNKNOWN' } };
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/**
 * A fake Resource Manager that the real clients reach through Application Default Credentials: the credentials
 * file is named in the environment (and exchanged at the fake's token endpoint), the project is set so the
 * credentials never look it up at Google. `restore()` puts the environment and fetch back.
 */
export async function startFakeGcpWithAdc(): Promise<{ fake: FakeGcpCrm; restore: () => void }> {
  const restoreFetch = letGoogleClientsFetchInJest();
  const fake = await FakeGcpCrm.start();
  const restoreEnv = overrideEnv({
    GOOGLE_APPLICATION_CREDENTIALS: fake.credentialsFile,
    GOOGLE_CLOUD_PROJECT: 'jit-bot-home',
  });
  return {
    fake,
    restore: () => {
      restoreEnv();
      restoreFetch();
    },
  };
}
