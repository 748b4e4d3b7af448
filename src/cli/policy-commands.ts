/** `jit-access-bot check` and `explain`: the policy loaded offline through the bot's own loader, then reported. */
import type { Writable } from 'node:stream';
import { ConfigError } from '../config/config-error';
import { loadPolicyFile } from '../config/load-config';
import type { Policy } from '../domain/policy';
import {
  PROVIDER_GRANT_DESCRIBERS,
  PROVIDER_IAM_POWER,
  PROVIDER_PROPAGATION_MS,
  PROVIDER_TARGET_SCHEMAS,
} from '../providers/registry';
import { CliError } from './cli-error';
import { formatExplanation } from './explanation-text';
import { explainPolicy } from './policy-explanation';
import { CHECK_USAGE, DEFAULT_POLICY_FILE, EXPLAIN_USAGE, parseCheckArgs, parseExplainArgs } from './policy-options';

export interface PolicyCommandIo {
  /** The command's own arguments, after its name. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
}

/**
 * Validates the policy file as the bot's start-up does (the same loader, schemas and IAM-power detectors), so a
 * file that passes here is one the bot accepts. Problems and warnings go to `stderr`, the verdict to `stdout`.
 * @returns the exit status: 0 valid, 64 bad usage, 78 invalid
 */
export function runCheck(io: PolicyCommandIo): number {
  return reportingErrors('check', io, () => {
    const options = parseCheckArgs(io.args);
    if (options === 'help') {
      io.stdout.write(CHECK_USAGE);
      return 0;
    }
    const path = options.policyFile ?? policyFileFromEnv(io.env);
    const policy = loadPolicy(path);
    for (const warning of policy.warnings) io.stderr.write(`check: warning: ${warning}\n`);
    const warnings = policy.warnings.length;
    io.stdout.write(
      `ok: ${path} is a valid policy: ${policy.roles.length} role(s) (${policy.roles.map((role) => role.id).join(', ')})${
        warnings > 0 ? `, ${warnings} warning(s)` : ''
      }\n`,
    );
    return 0;
  });
}

/**
 * Explains the policy for one Slack user: text for people, or `--json` for scripts.
 * @returns the exit status: 0 done, 64 bad usage or unknown role, 78 invalid policy
 */
export function runExplain(io: PolicyCommandIo): number {
  return reportingErrors('explain', io, () => {
    const options = parseExplainArgs(io.args);
    if (options === 'help') {
      io.stdout.write(EXPLAIN_USAGE);
      return 0;
    }
    const path = options.policyFile ?? policyFileFromEnv(io.env);
    const policy = loadPolicy(path);
    if (options.roleId !== undefined && !policy.roles.some((role) => role.id === options.roleId)) {
      throw new CliError(
        'usage',
        `${path} has no role "${options.roleId}"; its roles are ${policy.roles.map((role) => role.id).join(', ')}.`,
      );
    }
    const explanation = explainPolicy(
      policy,
      {
        userId: options.userId,
        ...(options.memberOf !== undefined && { memberOf: options.memberOf }),
        ...(options.roleId !== undefined && { roleId: options.roleId }),
      },
      { describers: PROVIDER_GRANT_DESCRIBERS, iamPower: PROVIDER_IAM_POWER },
    );
    io.stdout.write(
      options.json
        ? `${JSON.stringify({ policyFile: path, ...explanation }, null, 2)}\n`
        : formatExplanation(explanation, path),
    );
    return 0;
  });
}

/** The file the bot would read; an empty JIT_POLICY_FILE counts as unset, as the bot's environment parsing has it. */
function policyFileFromEnv(env: NodeJS.ProcessEnv): string {
  return env.JIT_POLICY_FILE || DEFAULT_POLICY_FILE;
}

/** @throws CliError `config` carrying the loader's own message, so it reads as it does when the bot refuses to start */
function loadPolicy(path: string): Policy {
  try {
    return loadPolicyFile(path, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError('config', error.message, { cause: error });
    throw error;
  }
}

function reportingErrors(command: string, io: PolicyCommandIo, run: () => number): number {
  try {
    return run();
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`${command}: ${error.message}\n`);
      return error.exitStatus;
    }
    io.stderr.write(`${command}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
