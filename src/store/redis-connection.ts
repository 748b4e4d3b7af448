/** Reaching Redis: the bounded wait at start-up, and one log line per outage for every connection the bot holds. */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Logger } from '../lib/logger';
import { maskSecrets } from '../lib/logger';

/** How to get a Redis, said wherever the bot cannot reach one. */
export const START_REDIS_HINT =
  'Start Redis (`redis-server --appendonly yes --maxmemory-policy noeviction`, or `docker compose up -d redis`), ' +
  'or set REDIS_URL in .env to a Redis that runs';

/** No Redis answered within the start-up wait. */
export class RedisUnreachable extends Error {
  override readonly name = 'RedisUnreachable';
  readonly code = 'redis_unreachable';

  constructor(
    readonly url: string,
    readonly waitedMs: number,
    readonly reason: string | undefined,
  ) {
    super(
      `no Redis answered at ${maskSecrets(url)} within ${formatSeconds(waitedMs)}` +
        `${reason === undefined ? '' : ` (${maskSecrets(reason)})`}. ${START_REDIS_HINT}.`,
    );
  }
}

/** Redis answered but refused the credentials in the URL: waiting cannot help. */
export class RedisCredentialsRefused extends Error {
  override readonly name = 'RedisCredentialsRefused';
  readonly code = 'redis_credentials';

  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(
      `Redis at ${maskSecrets(url)} refused the bot's credentials (${maskSecrets(reason)}). Put the right user and ` +
        'password in REDIS_URL (redis://user:password@host:port) in .env or the environment.',
    );
  }
}

/** Replies that mean the credentials are wrong or missing, not that Redis is away. */
const CREDENTIAL_ERRORS = /^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR (AUTH|invalid password)/;

/** Errors of the connection itself (the network, the socket, the server going away), as opposed to a command's. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * True for an error that only says the connection is down. Such errors repeat on every reconnect attempt;
 * {@link RedisConnectionWatch} reports the outage once instead, so error handlers skip them.
 */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && CONNECTION_ERROR_CODES.has(code)) return true;
  // BullMQ's own class for a closed connection; ioredis's AbortError for a pipeline cut off mid-flight by a drop.
  if (error.name === 'ConnectionClosedError') return true;
  return /^Connection is closed\.?$|^connect ETIMEDOUT|^Stream isn't writeable|^Command aborted due to connection close/.test(
    error.message,
  );
}

/**
 * Waits until Redis at `url` is ready (connected, authenticated, done loading), for at most `waitMs`, retrying
 * every `retryEveryMs`. Uses its own short-lived connection, so nothing else starts before Redis is there.
 * @throws {@link RedisUnreachable} when the time is up; {@link RedisCredentialsRefused} at once on an auth error.
 */
export async function waitForRedis(url: string, waitMs: number, retryEveryMs = 250): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectionName: 'jit-startup-probe',
    connectTimeout: Math.max(500, Math.min(waitMs, 5_000)),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => retryEveryMs,
  });
  let lastError: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RedisUnreachable(url, waitMs, lastError?.message)), waitMs);
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        outcome();
      };
      probe.on('ready', () => settle(resolve));
      // Listening also keeps ioredis from printing every failed attempt to stderr.
      probe.on('error', (error: Error) => {
        lastError = error;
        if (CREDENTIAL_ERRORS.test(error.message))
          settle(() => reject(new RedisCredentialsRefused(url, error.message)));
      });
      probe.connect().catch(() => {
        // Failed attempts arrive as 'error' events and are retried; the timer decides when to give up.
      });
    });
  } finally {
    probe.disconnect();
  }
}

/** What the watch needs of an ioredis connection: its status and its connection events. */
export interface WatchedConnection {
  readonly status: string;
  on(event: 'error' | 'close' | 'ready', listener: (error: Error) => void): unknown;
}

/**
 * Watches every Redis connection the bot holds and logs one line when Redis is lost and one when it is back,
 * however many connections there are and however often they retry. Until all of them were ready once, nothing is
 * logged (the start-up wait speaks for that time).
 */
export class RedisConnectionWatch {
  private readonly notReady = new Set<string>();
  private state: 'starting' | 'up' | 'down' | 'closed' = 'starting';
  private lostAt = 0;
  private lastError: string | undefined;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  /** Follows `connection` under `name` (e.g. `store`, `jobs`). */
  watch(name: string, connection: WatchedConnection): void {
    if (connection.status !== 'ready') this.notReady.add(name);
    connection.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    connection.on('close', () => this.connectionDown(name));
    connection.on('ready', () => this.connectionUp(name));
  }

  /** True while every watched connection is ready. */
  isUp(): boolean {
    return this.notReady.size === 0;
  }

  /** Stops reporting, before the bot closes its connections on purpose. */
  close(): void {
    this.state = 'closed';
  }

  private connectionDown(name: string): void {
    this.notReady.add(name);
    if (this.state !== 'up') return;
    this.state = 'down';
    this.lostAt = performance.now();
    this.logger.error(
      { redis: maskSecrets(this.url), connection: name, reason: this.lastError },
      'lost the connection to Redis; retrying in the background (jobs and requests wait until it is back)',
    );
  }

  private connectionUp(name: string): void {
    this.notReady.delete(name);
    if (this.notReady.size > 0 || this.state === 'closed') return;
    // A duration, not a wall-clock time: a monotonic timer, not the Clock port.
    if (this.state === 'down') {
      this.logger.info(
        { redis: maskSecrets(this.url), downForMs: Math.round(performance.now() - this.lostAt) },
        'the connection to Redis is back',
      );
    }
    this.state = 'up';
    this.lastError = undefined;
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
