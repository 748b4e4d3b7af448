import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { findOnPath } from './find-on-path';
import { freePort } from './free-port';

/** Options for {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Extra command-line arguments appended after the defaults, e.g. `['--maxmemory', '64mb']`. */
  extraArgs?: string[];
  /** How long to wait for the server to answer PING. Default 10 000 ms. */
  timeoutMs?: number;
  /** Listen on this port (e.g. to bring a stopped server back where its clients reconnect); default a free one. */
  port?: number;
}

/** A running, throw-away `redis-server` process bound to 127.0.0.1. */
export interface RedisServerHandle {
  /** TCP port the server listens on. */
  readonly port: number;
  /** Connection URL, `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Temporary working directory passed as `--dir` (removed by {@link RedisServerHandle.stop}). */
  readonly dir: string;
  /** Everything the process wrote to stdout/stderr so far (tail, bounded). */
  output(): string;
  /** SIGTERM, wait for exit (SIGKILL after 3 s), then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const MAX_OUTPUT_CHARS = 64 * 1024;
const START_ATTEMPTS = 3;

/** Children still running; killed synchronously if the test process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** `REDIS_SERVER_BIN` names a binary outside PATH. */
async function findRedisServer(binary: string): Promise<string | undefined> {
  return process.env.REDIS_SERVER_BIN || findOnPath(binary);
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = waitForExit(child);
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

/** One PING over a raw socket; true only on `+PONG` (a `-LOADING` reply counts as not ready). */
function pingOnce(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false;
    let reply = '';
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Attempt {
  child: ChildProcess;
  output: () => string;
}

function spawnRedis(binary: string, args: string[], cwd: string): Attempt {
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  };
  const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { child, output: () => output };
}

/** Resolves once PING answers; rejects if the process dies, fails to spawn, or the deadline passes. */
async function waitUntilReady(attempt: Attempt, port: number, timeoutMs: number): Promise<void> {
  const { child } = attempt;
  let failure: Error | undefined;
  const onError = (err: Error): void => {
    failure = err;
  };
  child.once('error', onError);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (failure) throw failure;
      if (hasExited(child)) {
        throw new Error(`redis-server exited early (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      if (await pingOnce(port)) return;
      if (Date.now() >= deadline) {
        throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms`);
      }
      await sleep(50);
    }
  } finally {
    child.off('error', onError);
  }
}

/**
 * Spawns a throw-away `redis-server` from PATH (or `$REDIS_SERVER_BIN`) on a free
 * 127.0.0.1 port, with persistence disabled and `--dir` in a fresh temp directory,
 * and waits until it answers PING.
 *
 * @throws if `redis-server` is not installed, or it is not ready within the timeout
 *   (the error includes the server's output).
 */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = await findRedisServer('redis-server');
  if (!binary) {
    throw new Error(
      'redis-server was not found on PATH. Install it (e.g. `apt-get install redis-server` on Debian/Ubuntu, ' +
        '`brew install redis` on macOS) or set REDIS_SERVER_BIN to its path.',
    );
  }
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
  installExitHook();

  for (let attemptNo = 1; ; attemptNo++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'jit-redis-'));
    const port = opts.port ?? (await freePort());
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--hz',
      '100',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--dir',
      dir,
      ...(opts.extraArgs ?? []),
    ];
    const attempt = spawnRedis(binary, args, dir);
    const { child } = attempt;
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));

    try {
      await waitUntilReady(attempt, port, timeoutMs);
    } catch (err) {
      await terminate(child);
      await rm(dir, { recursive: true, force: true });
      const out = attempt.output();
      if (/address already in use/i.test(out) && opts.port === undefined && attemptNo < START_ATTEMPTS) continue;
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `Failed to start redis-server (${binary} ${args.map((a) => (a === '' ? "''" : a)).join(' ')}): ${reason}\n` +
          `--- redis-server output ---\n${out.trim() || '(no output)'}`,
      );
    }

    let stopping: Promise<void> | undefined;
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      dir,
      output: attempt.output,
      stop(): Promise<void> {
        stopping ??= (async () => {
          await terminate(child);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  }
}
