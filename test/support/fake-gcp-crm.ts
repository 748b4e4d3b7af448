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

/** Canonical status names for the HTTP statuses the fake can be told to answer with. */
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

const MAX_PRINCIPALS = 1500;
const BASIC_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);
const MEMBER = /^(user|group|serviceAccount|domain):[^\s:]+$|^principal(Set)?:\/\/\S+$/;
const PATH = /^\/v3\/((?:projects|folders|organizations)\/[^/:]+):(getIamPolicy|setIamPolicy)$/;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

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
 * and the 1,500-principal limit is enforced. Every call needs a bearer token the fake's own `/token` endpoint
 * issued, through the workload-identity-federation exchange that Application Default Credentials perform for
 * the credentials file in {@link FakeGcpCrm.credentialsFile}.
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
  private etagCounter = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly dir: string,
    /** The subject token the credentials file points at; the token endpoint accepts only this one. */
    private readonly subjectToken: string,
    readonly port: number,
  ) {}

  /** Starts the fake on 127.0.0.1 and writes an external-account credentials file pointing at it. */
  static async start(): Promise<FakeGcpCrm> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), 'fake-gcp-crm-'));
    const fake = new FakeGcpCrm(server, dir, `subject-${randomBytes(12).toString('hex')}`, port);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
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
      bindings: normalizeBindings(bindings),
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

  /** Answers the next `count` CRM calls (optionally only of one method) with this HTTP status and Google error. */
  /** Calls as they arrive, before any delay or answer (`calls` records them once answered). */
  readonly arrivals: { method: FakeCrmMethod; resource: string }[] = [];
  private readonly delays: { method: FakeCrmMethod; ms: number }[] = [];

  /** Holds the next `count` calls of `method` for `ms` before they take effect. */
  delayNext(method: FakeCrmMethod, ms: number, count = 1): void {
    for (let i = 0; i < count; i += 1) this.delays.push({ method, ms });
  }

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
   * Right after the next read of `resource` is answered, someone else writes it: `change` edits the stored
   * policy and the etag moves on, so a writer still holding the etag it read loses the race.
   */
  writeConcurrentlyAfterNextRead(resource: string, change: (policy: FakePolicy) => void): void {
    this.afterRead.set(resource, change);
  }

  /** True for an access token the fake's token endpoint issued (tokens stay valid across {@link reset}). */
  issued(token: string | undefined): boolean {
    return token !== undefined && this.issuedTokens.has(token);
  }

  /** Makes the caller lack an IAM permission, e.g. `resourcemanager.projects.setIamPolicy`. */
  denyPermission(permission: string): void {
    this.denied.add(permission);
  }

  /** Makes writes naming this member fail as Google does for a principal that does not exist. */
  markMemberUnknown(member: string): void {
    this.unknownMembers.add(member);
  }

  /** Forgets policies, injected failures and calls; issued tokens stay valid. */
  reset(): void {
    this.policies.clear();
    this.failures.length = 0;
    this.delays.length = 0;
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

    if (token === undefined || !this.issuedTokens.has(token)) {
      this.answer(res, call, 401, googleError(401, 'Request had invalid authentication credentials.'));
      return;
    }
    this.arrivals.push({ method, resource });
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
      policy.bindings = normalizeBindings(policy.bindings);
      policy.etag = this.nextEtag();
    }
  }

  private setIamPolicy(res: http.ServerResponse, call: Omit<FakeCrmCall, 'status'>): void {
    const current = this.stored(call.resource);
    const sent = call.body.policy as { version?: number; etag?: string; bindings?: FakeBinding[] } | undefined;
    if (!sent) {
      this.answer(res, call, 400, googleError(400, 'policy is required'));
      return;
    }
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
    const bindings = normalizeBindings(sent.bindings ?? []);
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

  private exchangeToken(form: URLSearchParams, res: http.ServerResponse): void {
    const call = { method: 'token' as const, resource: '', body: Object.fromEntries(form) };
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

function bindingProblem(bindings: FakeBinding[], unknownMembers: ReadonlySet<string>): string | undefined {
  let principals = 0;
  for (const binding of bindings) {
    if (!binding.role) return 'Every binding needs a role.';
    if (binding.members.length === 0) return `The binding for ${binding.role} has no members.`;
    if (binding.condition && BASIC_ROLES.has(binding.role)) {
      return `Conditions are not supported for the basic role ${binding.role}.`;
    }
    if (binding.condition && !binding.condition.expression)
      return `The condition of ${binding.role} has no expression.`;
    for (const member of binding.members) {
      if (!MEMBER.test(member)) return `Invalid member ${member}.`;
      if (unknownMembers.has(member)) return `User ${member.replace(/^\w+:/, '')} does not exist.`;
      principals += 1;
    }
  }
  if (principals > MAX_PRINCIPALS) {
    return `The number of members in the policy (${principals}) is larger than the maximum allowed size ${MAX_PRINCIPALS}.`;
  }
  return undefined;
}

/** Stores bindings as Google returns them: empty condition fields dropped, nothing else touched. */
function normalizeBindings(bindings: FakeBinding[]): FakeBinding[] {
  return bindings.map((binding) => {
    const condition = binding.condition
      ? Object.fromEntries(Object.entries(binding.condition).filter(([, value]) => value !== '' && value != null))
      : undefined;
    return {
      role: binding.role,
      members: [...binding.members],
      ...(condition && Object.keys(condition).length > 0 && { condition }),
    };
  });
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
