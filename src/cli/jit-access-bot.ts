/** `jit-access-bot` (bin/jit-access-bot.js runs it): `check` and `explain` a policy offline, `audit` to export the trail. */
import type { Writable } from 'node:stream';
import { runAuditExport } from './audit-export';
import { CliError } from './cli-error';
import { loadDotEnv } from './dot-env';
import { runCheck, runExplain } from './policy-commands';
import { CLI_USAGE } from './policy-options';

export interface CliIo {
  /** The arguments after the program name. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
}

/** Runs one command. @returns the exit status (`sysexits.h`: 64 usage, 69 unavailable, 78 configuration) */
export async function runCli(io: CliIo): Promise<number> {
  const [command, ...args] = io.args;
  const commandIo = { ...io, args };
  switch (command) {
    case 'check':
      return runCheck(commandIo);
    case 'explain':
      return runExplain(commandIo);
    case 'audit':
      return runAuditExport(commandIo);
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(CLI_USAGE);
      return 0;
    default: {
      const problem = command === undefined ? 'a command is needed.' : `"${command}" is not a command.`;
      io.stderr.write(`jit-access-bot: ${problem}\n${CLI_USAGE}`);
      return new CliError('usage', problem).exitStatus;
    }
  }
}

/** The process around {@link runCli}: `.env` first, as the bot reads it, then the exit status. */
export function main(): void {
  try {
    // JIT_POLICY_FILE, REDIS_URL and the rest may come from .env; the real environment wins.
    loadDotEnv();
  } catch (error) {
    process.stderr.write(`jit-access-bot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof CliError ? error.exitStatus : 1);
  }
  runCli({ args: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`jit-access-bot: failed: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) main();
