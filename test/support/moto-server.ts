import { type ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import { findOnPath } from './find-on-path';
import { freePort } from './free-port';

/** A running `moto_server`: a real AWS emulator (IAM, IAM Identity Center, identity store) on 127.0.0.1. */
export interface MotoServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, the endpoint for every emulated service. */
  readonly url: string;
  /** Forgets every user, policy and assignment (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stops the process. Idempotent. */
  stop(): Promise<void>;
}

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

    let stopping: Promise<void> | undefined;
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      async reset() {
        const answer = await request(port, 'POST', '/moto-api/reset', 10_000);
        if (answer.status !== 200) throw new Error(`moto reset answered HTTP ${answer.status}: ${answer.body}`);
      },
      stop() {
        stopping ??= terminate(child);
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
