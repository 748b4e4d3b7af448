/** Exit statuses, and the one message with its fix for each start-up failure an operator can fix. */
import { ConfigError } from '../config/config-error';
import { maskSecrets } from '../lib/logger';
import { BotTokenRefused } from '../slack/bot-identity';
import { LocalRedisFailed, RedisServerNotInstalled } from '../store/local-redis';
import { RedisSettingsRefused } from '../store/redis-checks';
import { RedisCredentialsRefused, RedisUnreachable } from '../store/redis-connection';

/** How the process ends; 69 and 78 are sysexits(3)'s EX_UNAVAILABLE and EX_CONFIG. */
export const EXIT = {
  /** Stopped on SIGTERM or SIGINT. */
  stopped: 0,
  /** A bug or an unforeseen failure (its stack is printed), or running jobs outlived the shutdown grace. */
  unexpected: 1,
  /** Redis could not be reached in time, or there was none to start locally. */
  unavailable: 69,
  /** A setting must change: the environment, the policy file, the Slack token, Redis's settings, the port. */
  config: 78,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: what to print (no stack) and the status to exit with. */
export interface StartupFailure {
  status: ExitStatus;
  message: string;
}

const ENV_HINT =
  'Put the variables in .env in the working directory (copy .env.example to .env and fill it in) or in the ' +
  'environment, then start again.';

/**
 * The message and status for a start-up failure the operator can fix, or undefined for anything else (which is
 * then reported with its stack). `port` is the configured `PORT`, named when it cannot be listened on.
 */
export function describeStartupFailure(error: unknown, port: number): StartupFailure | undefined {
  if (error instanceof ConfigError) {
    const envProblem = error.problems.some((problem) => problem.startsWith('The environment'));
    return { status: EXIT.config, message: envProblem ? `${error.message}\n${ENV_HINT}` : error.message };
  }
  if (
    error instanceof BotTokenRefused ||
    error instanceof RedisSettingsRefused ||
    error instanceof RedisCredentialsRefused
  ) {
    return { status: EXIT.config, message: error.message };
  }
  if (
    error instanceof RedisUnreachable ||
    error instanceof RedisServerNotInstalled ||
    error instanceof LocalRedisFailed
  ) {
    return { status: EXIT.unavailable, message: maskSecrets(error.message) };
  }
  const listenFailure = describeListenFailure(error, port);
  if (listenFailure !== undefined) return { status: EXIT.config, message: listenFailure };
  return undefined;
}

function describeListenFailure(error: unknown, configuredPort: number): string | undefined {
  const { code, syscall, port } = (error ?? {}) as NodeJS.ErrnoException & { port?: number };
  if (syscall !== 'listen') return undefined;
  const which = port ?? configuredPort;
  if (code === 'EADDRINUSE') {
    return (
      `port ${which} is already in use (another jit-access-bot, or another program): stop that, or set PORT ` +
      'in .env or the environment to a free port.'
    );
  }
  if (code === 'EACCES') {
    return (
      `port ${which} may not be listened on by this user (ports below 1024 need privileges): set PORT in .env or ` +
      'the environment to 1024 or above.'
    );
  }
  return undefined;
}
