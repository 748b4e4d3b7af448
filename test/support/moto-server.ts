import { type ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import { findOnPath } from './find-on-path';
import { freePort } from './free-port';

/**
 * A running `moto_server`: a real AWS emulator (IAM, IAM Identity Center, identity store) on 127.0.0.1, behind a
 * proxy that enforces the IAM quotas moto does not (see {@link IamQuotas}), so every test meets them as on AWS.
 */
export interface MotoServer {
  /** The port of `url`. */
  readonly port: number;
  /** `http://127.0.0.1:PORT`, the endpoint for every emulated service, quotas enforced. */
  readonly url: string;
  /** The quotas enforced, AWS's defaults until a test sets an account's own values (`reset` restores them). */
  readonly quotas: IamQuotas;
  /** Forgets every user, policy and assignment (`POST /moto-api/reset`) and restores the default quotas. */
  reset(): Promise<void>;
  /** Stops the process. Idempotent. */
  stop(): Promise<void>;
}

/**
 * IAM quotas AWS enforces and moto 5 does not, named as GetAccountSummary names them. Source for each value and
 * for how it is counted: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 */
export interface IamQuotas {
  /** "User policy size": all inline policies of one user together, whitespace not counted. */
  UserPolicySizeQuota: number;
  /** "Managed policies per user": attached to one IAM user (adjustable up to 20). */
  AttachedPoliciesPerUserQuota: number;
  /** "Customer managed policies" in the account (adjustable). */
  PoliciesQuota: number;
  /** "Managed policy size": one version of a managed policy, whitespace not counted. */
  PolicySizeQuota: number;
  /** "Role policy size": all inline policies of one role together, whitespace not counted. */
  RolePolicySizeQuota: number;
}

/** AWS's default values (IAM and AWS STS quotas page). */
export const DEFAULT_IAM_QUOTAS: Readonly<IamQuotas> = {
  UserPolicySizeQuota: 2_048,
  AttachedPoliciesPerUserQuota: 10,
  PoliciesQuota: 1_500,
  PolicySizeQuota: 6_144,
  RolePolicySizeQuota: 10_240,
};

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;
const START_ATTEMPTS = 3;
const MAX_OUTPUT_CHARS = 32 * 1024;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** One HTTP request to 127.0.0.1; resolves with the status and body, rejects on a socket error or timeout. */
function request(
  port: number,
  method: string,
  urlPath: string,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(killTimer);
  }
}

/**
 * Starts `MOTO_IAM_LOAD_MANAGED_POLICIES=false moto_server -H 127.0.0.1 -p <free port>` (AWS managed policies are
 * not needed and make every reset slow) and waits until it answers.
 *
 * @throws a loud error when `moto_server` is not installed: the AWS tests must run, never skip.
 */
export async function startMotoServer(): Promise<MotoServer> {
  const binary = await findOnPath('moto_server');
  if (!binary) {
    throw new Error(
      'moto_server was not found on PATH. The AWS provider tests need this AWS emulator and never skip: ' +
        "install it with `pip install 'moto[server]'` (moto 5) so that `moto_server` is on PATH.",
    );
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of liveChildren) child.kill('SIGKILL');
    });
  }

  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    let output = '';
    const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
      env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (!ready && spawnError === undefined && !hasExited(child) && Date.now() < deadline) {
      ready = await request(port, 'GET', '/moto-api/').then(
        (answer) => answer.status === 200,
        () => false,
      );
      if (!ready) await sleep(100);
    }
    if (!ready) {
      await terminate(child);
      if (/address already in use/i.test(output) && attempt < START_ATTEMPTS) continue;
      throw new Error(
        `moto_server did not start on 127.0.0.1:${port}: ${spawnError?.message ?? (hasExited(child) ? `exited with code ${child.exitCode}` : `no answer within ${READY_TIMEOUT_MS} ms`)}\n` +
          `--- moto_server output ---\n${output.trim() || '(no output)'}`,
      );
    }

    const quotas: IamQuotas = { ...DEFAULT_IAM_QUOTAS };
    let quotaProxy: QuotaProxy;
    try {
      quotaProxy = await startQuotaProxy(`http://127.0.0.1:${port}`, quotas);
    } catch (error) {
      await terminate(child);
      throw error;
    }
    let stopping: Promise<void> | undefined;
    return {
      port: quotaProxy.port,
      url: `http://127.0.0.1:${quotaProxy.port}`,
      quotas,
      async reset() {
        Object.assign(quotas, DEFAULT_IAM_QUOTAS);
        const answer = await request(port, 'POST', '/moto-api/reset', 10_000);
        if (answer.status !== 200) throw new Error(`moto reset answered HTTP ${answer.status}: ${answer.body}`);
      },
      stop() {
        stopping ??= quotaProxy.stop().then(() => terminate(child));
        return stopping;
      },
    };
  }
}

/** An HTTP answer the fault proxy gives instead of (or after) the emulator's. */
export interface FaultReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** An error as IAM (the AWS query protocol) sends it, e.g. `queryError('Throttling', 'Rate exceeded')`. */
export function queryError(code: string, message: string, status = 400): FaultReply {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}

/** An error as Identity Center and the identity store (AWS JSON 1.1) send it, e.g. `ThrottlingException`. */
export function jsonError(type: string, message: string, status = 400): FaultReply {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
    body: JSON.stringify({ __type: type, message }),
  };
}

/** A successful AWS JSON 1.1 answer with this body. */
export function jsonReply(body: unknown): FaultReply {
  return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(body) };
}

/** What the proxy does with the next matching calls: answer itself, or forward and rewrite the emulator's body. */
type Fault = { operation: string; remaining: number } & ({ reply: FaultReply } | { rewrite: (body: string) => string });

/** A tiny HTTP proxy in front of moto that can refuse or alter chosen AWS operations, and counts every call. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: point the SDK's endpoint here. */
  readonly url: string;
  /** Answers the next `times` calls of `operation` (e.g. `PutUserPolicy`) with `reply`, without forwarding. */
  fail(operation: string, times: number, reply: FaultReply): void;
  /** Forwards the next `times` calls of `operation` and passes the emulator's body through `rewrite`. */
  rewrite(operation: string, times: number, rewrite: (body: string) => string): void;
  /**
   * Pages an IAM list operation's answers (e.g. `paginate('ListUsers', 'Users')`) by `MaxItems` (AWS's default
   * 100) and `Marker`, with `IsTruncated`, as IAM does: moto answers every item at once. Lasts until `clear()`.
   */
  paginate(operation: string, listElement: string): void;
  /** The form parameters of each call of a query-protocol (IAM) `operation` seen so far, in order. */
  paramsOf(operation: string): Record<string, string>[];
  /** Operations seen so far (forwarded or not), in order. */
  calls(): string[];
  /** How many calls of `operation` were seen. */
  count(operation: string): number;
  /** Forgets pending faults and seen calls. */
  clear(): void;
  stop(): Promise<void>;
}

/**
 * The AWS operation a request calls: the `X-Amz-Target` suffix for JSON protocols (Identity Center, identity
 * store), the `Action` form field for the query protocol (IAM).
 */
function operationOf(headers: http.IncomingHttpHeaders, body: string): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}

/** The `<member>` elements directly inside `<list>` of a query-protocol answer, nested members kept whole. */
function topLevelMembers(list: string): string[] {
  const members: string[] = [];
  const tag = /<(\/?)member>/g;
  let depth = 0;
  let start = 0;
  for (let match = tag.exec(list); match !== null; match = tag.exec(list)) {
    if (match[1] === '') {
      if (depth === 0) start = match.index;
      depth += 1;
    } else {
      depth -= 1;
      if (depth === 0) members.push(list.slice(start, match.index + match[0].length));
    }
  }
  return members;
}

/** One IAM page of `listElement` from an answer holding every item, as `MaxItems` and `Marker` ask. */
function pageOf(answer: string, listElement: string, params: URLSearchParams): string {
  const list = new RegExp(`<${listElement}>([\\s\\S]*)</${listElement}>`).exec(answer);
  if (!list) return answer;
  const members = topLevelMembers(list[1] ?? '');
  const maxItems = Number(params.get('MaxItems') ?? '100');
  const offset = Number(/^page-(\d+)$/.exec(params.get('Marker') ?? '')?.[1] ?? '0');
  const end = offset + maxItems;
  const truncated = end < members.length;
  const page = `<${listElement}>${members.slice(offset, end).join('')}</${listElement}>`;
  return answer
    .replace(list[0], () => page)
    .replace(
      /<IsTruncated>(true|false)<\/IsTruncated>/,
      truncated ? `<IsTruncated>true</IsTruncated><Marker>page-${end}</Marker>` : '<IsTruncated>false</IsTruncated>',
    );
}

/** Starts a fault-injecting proxy on a free 127.0.0.1 port in front of `targetUrl`. */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  let faults: Fault[] = [];
  let seen: { operation: string; params: URLSearchParams }[] = [];
  let paged = new Map<string, string>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = operationOf(req.headers, body.toString('utf8'));
      const params = new URLSearchParams(body.toString('utf8'));
      seen.push({ operation, params });
      const fault = faults.find((candidate) => candidate.operation === operation && candidate.remaining > 0);
      if (fault) fault.remaining -= 1;
      if (fault && 'reply' in fault) {
        res.writeHead(fault.reply.status, fault.reply.headers ?? {});
        res.end(fault.reply.body);
        return;
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.on('end', () => {
            let answerBody = Buffer.concat(answerChunks);
            const listElement = paged.get(operation);
            if (listElement !== undefined && answer.statusCode === 200) {
              answerBody = Buffer.from(pageOf(answerBody.toString('utf8'), listElement, params));
            }
            if (fault && 'rewrite' in fault) answerBody = Buffer.from(fault.rewrite(answerBody.toString('utf8')));
            const headers = { ...answer.headers, 'content-length': String(answerBody.length) };
            delete headers['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(answerBody);
          });
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy could not reach the emulator: ${error.message}`);
      });
      upstream.end(body);
    });
  });

  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    fail(operation, times, reply) {
      faults.push({ operation, remaining: times, reply });
    },
    rewrite(operation, times, rewrite) {
      faults.push({ operation, remaining: times, rewrite });
    },
    paginate(operation, listElement) {
      paged.set(operation, listElement);
    },
    paramsOf: (operation) =>
      seen.filter((call) => call.operation === operation).map((call) => Object.fromEntries(call.params)),
    calls: () => seen.map((call) => call.operation),
    count: (operation) => seen.filter((call) => call.operation === operation).length,
    clear() {
      faults = [];
      seen = [];
      paged = new Map();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The quota-enforcing proxy in front of moto. */
interface QuotaProxy {
  readonly port: number;
  stop(): Promise<void>;
}

/** An IAM (query protocol) call's answer from moto. */
interface IamAnswer {
  status: number;
  body: string;
}

/** The IAM operations whose quotas moto 5.x leaves unchecked (it does check "Versions per policy" itself). */
const ENFORCED = new Set([
  'PutUserPolicy',
  'PutRolePolicy',
  'AttachUserPolicy',
  'CreatePolicy',
  'CreatePolicyVersion',
  'DeletePolicy',
]);

/** IAM answers `LimitExceeded` and `DeleteConflict` with HTTP 409 (IAM API reference, "Errors" of each action). */
const CONFLICT = 409;

/** A policy's size as IAM counts it against its quotas: whitespace is not counted (IAM and AWS STS quotas). */
function nonWhitespaceLength(text: string): number {
  return text.replace(/\s/g, '').length;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Every `<tag>` text of a query-protocol answer, entities decoded. */
function xmlValues(body: string, tag: string): string[] {
  return [...body.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((match) =>
    (match[1] ?? '').replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => XML_ENTITIES[name] ?? ''),
  );
}

/** IAM's answer to a call that returns nothing but success (IAM API reference, e.g. AttachUserPolicy). */
function emptyAnswer(operation: string): FaultReply {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<${operation}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>quota-proxy</RequestId></ResponseMetadata></${operation}Response>`,
  };
}

/** IAM returns policy documents URL-encoded (RFC 3986). */
function decodedDocument(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Starts a proxy in front of moto that refuses, as AWS does, the IAM calls that would break a quota moto does
 * not enforce; everything else passes through untouched. It reads the current state with moto's own List/Get
 * calls, and runs the enforced calls one at a time so that concurrent grants cannot slip past a quota together
 * (IAM applies them atomically). What it enforces, each from the IAM and AWS STS quotas page
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html) or the IAM API reference:
 * - PutUserPolicy: the user's inline policies together (the one replaced not counted twice) above
 *   `UserPolicySizeQuota` → 409 `LimitExceeded` "Maximum policy size of 2048 bytes exceeded for user <name>".
 * - PutRolePolicy: the same for a role's inline policies above `RolePolicySizeQuota` ("Role policy size", 10,240
 *   characters; moto 5 keeps the quota in GetAccountSummary but never checks it) → 409 `LimitExceeded`
 *   "Maximum policy size of 10240 bytes exceeded for role <name>".
 * - AttachUserPolicy of a policy not yet attached, when `AttachedPoliciesPerUserQuota` are → 409 `LimitExceeded`
 *   "Cannot exceed quota for PoliciesPerUser: 10". Of one already attached → success without a change, as on
 *   AWS (moto 5 would count the attachment twice in the policy's AttachmentCount).
 * - CreatePolicy when the account holds `PoliciesQuota` customer managed policies → 409 `LimitExceeded`
 *   "Cannot exceed quota for PoliciesPerAccount: 1500"; CreatePolicy and CreatePolicyVersion of a document above
 *   `PolicySizeQuota` → 409 `LimitExceeded` "Cannot exceed quota for PolicySize: 6144".
 * - DeletePolicy of a policy still attached, or with versions besides the default → 409 `DeleteConflict`
 *   (DeletePolicy API reference: detach it and delete its other versions first); moto deletes it regardless.
 */
async function startQuotaProxy(targetUrl: string, quotas: IamQuotas): Promise<QuotaProxy> {
  const target = new URL(targetUrl);
  let queue: Promise<void> = Promise.resolve();

  /** Forwards a request to moto as it came. */
  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () =>
            resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
          );
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  /** One IAM call of the proxy's own to read moto's state, signed as the caller's (moto checks no signature). */
  const iamCall = (req: http.IncomingMessage, params: Record<string, string>): Promise<IamAnswer> => {
    const body = Buffer.from(new URLSearchParams({ ...params, Version: '2010-05-08' }).toString());
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    return new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: 'POST', path: '/', headers },
        (answer) => {
          let text = '';
          answer.setEncoding('utf8');
          answer.on('data', (chunk: string) => {
            text += chunk;
          });
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, body: text }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  };

  /** Every page of an IAM list call, as one string of their bodies; undefined when moto refuses it. */
  const listAll = async (req: http.IncomingMessage, params: Record<string, string>): Promise<string | undefined> => {
    let all = '';
    let marker: string | undefined;
    do {
      const answer = await iamCall(req, {
        ...params,
        MaxItems: '1000',
        ...(marker !== undefined && { Marker: marker }),
      });
      if (answer.status !== 200) return undefined;
      all += answer.body;
      marker = /<IsTruncated>true<\/IsTruncated>/.test(answer.body) ? xmlValues(answer.body, 'Marker')[0] : undefined;
    } while (marker !== undefined);
    return all;
  };

  /** What AWS would answer instead of moto (a quota refused, a no-op), or undefined to forward the call. */
  const violation = async (req: http.IncomingMessage, operation: string, params: URLSearchParams) => {
    const get = (name: string): string => params.get(name) ?? '';
    if (operation === 'PutUserPolicy' || operation === 'PutRolePolicy') {
      const entity = operation === 'PutUserPolicy' ? 'User' : 'Role';
      const name = get(`${entity}Name`);
      const listing = await listAll(req, { Action: `List${entity}Policies`, [`${entity}Name`]: name });
      if (listing === undefined) return undefined;
      let total = nonWhitespaceLength(get('PolicyDocument'));
      for (const policyName of xmlValues(listing, 'member')) {
        if (policyName === get('PolicyName')) continue;
        const answer = await iamCall(req, {
          Action: `Get${entity}Policy`,
          [`${entity}Name`]: name,
          PolicyName: policyName,
        });
        total += nonWhitespaceLength(decodedDocument(xmlValues(answer.body, 'PolicyDocument')[0] ?? ''));
      }
      const quota = entity === 'User' ? quotas.UserPolicySizeQuota : quotas.RolePolicySizeQuota;
      if (total > quota) {
        return queryError(
          'LimitExceeded',
          `Maximum policy size of ${quota} bytes exceeded for ${entity.toLowerCase()} ${name}`,
          CONFLICT,
        );
      }
    }
    if (operation === 'AttachUserPolicy') {
      const listing = await listAll(req, { Action: 'ListAttachedUserPolicies', UserName: get('UserName') });
      if (listing === undefined) return undefined;
      const attached = xmlValues(listing, 'PolicyArn');
      // Attaching what is attached changes nothing on AWS; moto would count the policy's attachments twice.
      if (attached.includes(get('PolicyArn'))) return emptyAnswer('AttachUserPolicy');
      if (attached.length >= quotas.AttachedPoliciesPerUserQuota) {
        return queryError(
          'LimitExceeded',
          `Cannot exceed quota for PoliciesPerUser: ${quotas.AttachedPoliciesPerUserQuota}`,
          CONFLICT,
        );
      }
    }
    if (operation === 'CreatePolicy' || operation === 'CreatePolicyVersion') {
      if (nonWhitespaceLength(get('PolicyDocument')) > quotas.PolicySizeQuota) {
        return queryError('LimitExceeded', `Cannot exceed quota for PolicySize: ${quotas.PolicySizeQuota}`, CONFLICT);
      }
    }
    if (operation === 'CreatePolicy') {
      const listing = await listAll(req, { Action: 'ListPolicies', Scope: 'Local' });
      if (listing !== undefined && xmlValues(listing, 'Arn').length >= quotas.PoliciesQuota) {
        return queryError(
          'LimitExceeded',
          `Cannot exceed quota for PoliciesPerAccount: ${quotas.PoliciesQuota}`,
          CONFLICT,
        );
      }
    }
    if (operation === 'DeletePolicy') {
      const policy = await iamCall(req, { Action: 'GetPolicy', PolicyArn: get('PolicyArn') });
      if (policy.status !== 200) return undefined;
      if (Number(xmlValues(policy.body, 'AttachmentCount')[0] ?? '0') > 0) {
        return queryError('DeleteConflict', 'Cannot delete a policy attached to entities.', CONFLICT);
      }
      const versions = await iamCall(req, { Action: 'ListPolicyVersions', PolicyArn: get('PolicyArn') });
      if (xmlValues(versions.body, 'VersionId').length > 1) {
        return queryError(
          'DeleteConflict',
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
          CONFLICT,
        );
      }
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const operation = operationOf(req.headers, text);
      const enforced = req.headers['x-amz-target'] === undefined && ENFORCED.has(operation);
      const handle = async (): Promise<void> => {
        const instead = enforced ? await violation(req, operation, new URLSearchParams(text)) : undefined;
        if (instead) {
          res.writeHead(instead.status, instead.headers ?? {});
          res.end(instead.body);
          return;
        }
        const answer = await forward(req, body);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      };
      // Enforced calls wait for the one before: a check and its write must not interleave with another's.
      const outcome = enforced ? queue.then(handle) : handle();
      if (enforced) queue = outcome.catch(() => undefined);
      outcome.catch((error: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`quota proxy could not reach the emulator: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
  });

  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
