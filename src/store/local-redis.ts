/** A Redis for local use: `redis-server` from PATH as a child process, with its data in the working directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { waitForRedis } from './redis-connection';

/** Where the local Redis keeps its append-only file and its log, relative to the working directory. */
export const LOCAL_REDIS_DIR = '.redis-data';

/** Nothing answers on the local address and there is no `redis-server` to start there. */
export class RedisServerNotInstalled extends Error {
  override readonly name = 'RedisServerNotInstalled';
  readonly code = 'redis_server_missing';

  constructor(readonly url: string) {
    super(
      `nothing answers at ${url} and redis-server is not on PATH to start one there. Install Redis 7 ` +
        '(`sudo apt-get install redis-server` on Debian/Ubuntu, `brew install redis` on macOS) and start again, ' +
        'or set REDIS_URL in .env to a Redis that runs (e.g. after `docker compose up -d redis`).',
    );
  }
}

/** The local `redis-server` was started but did not come up. */
export class LocalRedisFailed extends Error {
  override readonly name = 'LocalRedisFailed';
  readonly code = 'local_redis_failed';

  constructor(
    readonly url: string,
    readonly logFile: string,
    readonly reason: string,
  ) {
    super(
      `the local redis-server for ${url} did not start: ${reason} (its log: ${logFile}). Fix that, or set ` +
        'REDIS_URL in .env to a Redis that runs.',
    );
  }
}

/** A `redis-server` this process started and stops. */
export interface LocalRedis {
  readonly url: string;
  readonly pid: number | undefined;
  readonly dataDir: string;
  /** SIGTERM (Redis then flushes its append-only file), SIGKILL if it lingers; safe to call twice. */
  stop(): Promise<void>;
}

/** Grace for Redis to flush and exit on SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * True when nothing listens on `host:port` (the connection is refused). Anything else, a Redis or not, counts as
 * taken: the caller then waits for it as for any Redis, and never starts a second server on its port.
 */
export function nothingListensOn(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (free: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(free);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(false));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED'));
  });
}

/** The full path of `binary` in a PATH directory, or undefined. */
export async function findOnPath(binary: string, searchPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, binary);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export interface StartLocalRedisOptions {
  port: number;
  /** Folder for the append-only file and the log, created if missing. */
  dataDir: string;
  /** How long the new server gets to answer. */
  readyWithinMs: number;
}

/**
 * Starts `redis-server` on 127.0.0.1:`port` with the settings the bot requires (AOF on, `noeviction`) and waits
 * until it answers. It runs in its own process group, so a Ctrl-C in the terminal reaches the bot alone and the
 * bot stops Redis after its own graceful shutdown, not during it.
 * @throws {@link RedisServerNotInstalled}, {@link LocalRedisFailed}
 */
export async function startLocalRedis(options: StartLocalRedisOptions): Promise<LocalRedis> {
  const url = `redis://127.0.0.1:${options.port}`;
  const binary = await findOnPath('redis-server');
  if (binary === undefined) throw new RedisServerNotInstalled(url);
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'redis.log');
  const child = spawn(
    binary,
    [
      '--port',
      String(options.port),
      '--bind',
      '127.0.0.1',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dataDir,
      '--logfile',
      logFile,
      '--daemonize',
      'no',
    ],
    { cwd: dataDir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_096);
  });
  // If the bot dies without its shutdown (an uncaught error), Redis still gets its SIGTERM.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  const stop = once(async () => {
    process.off('exit', onExit);
    await terminate(child);
  });

  const exitedEarly = new Promise<never>((_resolve, reject) => {
    child.once('error', (error) => reject(error));
    child.once('exit', (code, signal) => reject(new Error(`it exited (${signal ?? `code ${code}`})`)));
  });
  exitedEarly.catch(() => {
    // Only the race below reads this; after start-up an exit is the bot's shutdown or is seen by the connection watch.
  });
  try {
    await Promise.race([waitForRedis(url, options.readyWithinMs), exitedEarly]);
  } catch (error) {
    await stop();
    // Redis writes a bad argument to stderr before it opens its log; a failed bind goes to the log.
    const logLine = lastNonEmptyLine(stderr) ?? (await lastLine(logFile));
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalRedisFailed(url, logFile, logLine === undefined ? reason : `${reason}: ${logLine}`);
  }
  return { url, pid: child.pid, dataDir, stop };
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= action();
    return running;
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

async function lastLine(file: string): Promise<string | undefined> {
  try {
    return lastNonEmptyLine(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function lastNonEmptyLine(text: string): string | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.at(-1)?.trim();
}
