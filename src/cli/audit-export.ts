import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Redis } from 'ioredis';
import { ConfigError } from '../config/config-error';
import { parseStoreEnv } from '../config/env-schema';
import { formatAuditEntries } from '../domain/audit-format';
import { selectAuditEntries } from '../domain/audit-service';
import type { Clock } from '../domain/ports';
import { systemClock } from '../lib/clock';
import { maskSecrets } from '../lib/logger';
import { RedisAuditLog } from '../store/audit-log';
import { RedisKeys } from '../store/keys';
import { AUDIT_EXPORT_USAGE, parseAuditExportArgs } from './audit-options';
import { CliError } from './cli-error';
import { loadDotEnv } from './dot-env';

/** How long to wait for Redis before saying it cannot be reached. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface AuditExportIo {
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  clock?: Clock;
}

/**
 * `npm run audit`: streams the audit trail to `stdout`, a page of the Redis stream at a time and only as fast as
 * `stdout` takes it. Its own small composition root: it needs only Redis, not Slack or the policy.
 * @returns the exit status
 */
export async function runAuditExport(io: AuditExportIo): Promise<number> {
  try {
    const options = parseAuditExportArgs(io.args, (io.clock ?? systemClock).now());
    if (options === 'help') {
      io.stdout.write(AUDIT_EXPORT_USAGE);
      return 0;
    }
    const env = storeEnv(io.env);
    const redis = await connect(env.REDIS_URL);
    try {
      const keys = new RedisKeys(env.JIT_REDIS_PREFIX);
      if ((await redis.exists(keys.audit())) === 0) {
        io.stderr.write(
          `audit: there is no audit trail at ${keys.audit()} yet (nothing was audited, or JIT_REDIS_PREFIX differs from the bot's).\n`,
        );
      }
      const entries = selectAuditEntries(new RedisAuditLog(redis, keys).entries(options.sinceMs), options);
      // The destination stays open: stdout is not ours to end.
      await pipeline(Readable.from(formatAuditEntries(entries, options.format)), io.stdout, { end: false });
    } finally {
      redis.disconnect();
    }
    return 0;
  } catch (error) {
    if (isBrokenPipe(error)) return 0; // the reader (e.g. `head`) has all it wanted
    if (error instanceof CliError) {
      io.stderr.write(`audit: ${error.message}\n`);
      return error.exitStatus;
    }
    io.stderr.write(
      `audit: failed: ${maskSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`,
    );
    return 1;
  }
}

function storeEnv(env: NodeJS.ProcessEnv) {
  try {
    return parseStoreEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError('config', error.message, { cause: error });
    throw error;
  }
}

/** One connection, no reconnecting: a tool that cannot reach Redis says so at once instead of retrying. */
async function connect(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: 'jit-audit-export',
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, auth) says more than the "Connection is closed" that
  // connect() rejects with; listening also keeps ioredis from printing it.
  let socketError: unknown;
  redis.on('error', (error: unknown) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    // No disconnect(): the connection has already ended, and ioredis would hold the process 2 s waiting for a
    // close event that already happened.
    const cause = socketError ?? error;
    const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\.$/, '');
    throw new CliError(
      'unavailable',
      `cannot reach Redis at ${maskSecrets(url)}: ${maskSecrets(reason)}. Check REDIS_URL (host, port, user, password) and that Redis is running.`,
      { cause: error },
    );
  }
}

function isBrokenPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

if (require.main === module) {
  // As the bot does: .env in the working directory, with the real environment taking precedence.
  try {
    loadDotEnv();
  } catch (error) {
    process.stderr.write(`audit: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof CliError ? error.exitStatus : 1);
  }
  runAuditExport({
    args: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
  }).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`audit: failed: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
