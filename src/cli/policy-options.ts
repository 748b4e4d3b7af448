/** The arguments of `jit-access-bot check` and `jit-access-bot explain`, parsed and checked. */
import { parseArgs } from 'node:util';
import { CliError } from './cli-error';

/** Where the bot looks when `JIT_POLICY_FILE` is not set. */
export const DEFAULT_POLICY_FILE = './policy.yml';

export const CLI_USAGE = `Usage: npx jit-access-bot <command> [options]

Commands:
  check [policy.yml]            validate a policy file exactly as the bot does at start
  explain <user> [role]         what the policy means for one Slack user, role by role
  audit [options]               export the audit trail from Redis (see: jit-access-bot audit --help)

Run jit-access-bot <command> --help for a command's options.
`;

export const CHECK_USAGE = `Usage: npx jit-access-bot check [policy.yml]

Validates the policy file as the bot does at start, offline: no Slack, Redis or cloud credentials needed.
Prints every problem with its path and how to fix it, and the warnings the bot would log.

The file defaults to JIT_POLICY_FILE (from the environment or .env), else ${DEFAULT_POLICY_FILE}.
Exit status: 0 valid, 64 bad usage, 78 invalid (the bot would refuse to start).
`;

export const EXPLAIN_USAGE = `Usage: npx jit-access-bot explain <user> [role] [options]

For a Slack user ID (U… or W…), prints each role (or only the one named): whether they may request it, who
approves and how many approvals it needs, durations, risk, auto-approval, break-glass, self-extension, the
ticket rule, what a grant creates in the cloud and which identity it names.

Options:
  --policy <file>          the policy file; default JIT_POLICY_FILE (environment or .env), else ${DEFAULT_POLICY_FILE}
  --member-of <S…,S…>      the Slack user groups the user belongs to (membership lives in Slack, which this
                           tool does not ask); taken as their complete list. Without it, a group can only
                           make the answer "if a member of"
  --json                   one JSON document instead of text
  -h, --help               this text

Exit status: 0 done, 64 bad usage or unknown role, 78 invalid policy.
`;

export interface CheckOptions {
  /** Undefined: the bot's own default (`JIT_POLICY_FILE`, else {@link DEFAULT_POLICY_FILE}). */
  policyFile?: string;
}

export interface ExplainOptions {
  userId: string;
  roleId?: string;
  policyFile?: string;
  memberOf?: string[];
  json: boolean;
}

/** Slack user IDs, as the policy file writes them. */
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const USERGROUP_ID = /^S[A-Z0-9]{2,}$/;

/**
 * @returns the options, or `'help'` when help was asked for
 * @throws CliError `usage`
 */
export function parseCheckArgs(args: readonly string[]): CheckOptions | 'help' {
  const { values, positionals } = parse('check', args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) return 'help';
  if (positionals.length > 1) {
    throw usage(`takes one policy file, got ${positionals.length}: ${positionals.join(' ')}.`, 'check');
  }
  const [policyFile] = positionals;
  return policyFile === undefined ? {} : { policyFile };
}

/**
 * @returns the options, or `'help'` when help was asked for
 * @throws CliError `usage` naming the bad argument and what it accepts
 */
export function parseExplainArgs(args: readonly string[]): ExplainOptions | 'help' {
  const { values, positionals } = parse('explain', args, {
    policy: { type: 'string' },
    'member-of': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) return 'help';
  const [userId, roleId, ...rest] = positionals;
  if (userId === undefined) throw usage('needs a Slack user ID, e.g. jit-access-bot explain U0123ABCD.', 'explain');
  if (!USER_ID.test(userId)) {
    throw usage(
      `"${userId}" is not a Slack user ID: use one such as U0123ABCD (profile → ⋮ → Copy member ID).`,
      'explain',
    );
  }
  if (rest.length > 0) throw usage(`takes a user and at most one role; remove ${rest.join(' ')}.`, 'explain');
  const policyFile = typeof values.policy === 'string' ? values.policy : undefined;
  if (policyFile === '') throw usage('--policy needs a file, e.g. --policy policy.yml.', 'explain');
  const memberOf = typeof values['member-of'] === 'string' ? usergroups(values['member-of']) : undefined;
  return {
    userId,
    ...(roleId !== undefined && { roleId }),
    ...(policyFile !== undefined && { policyFile }),
    ...(memberOf !== undefined && { memberOf }),
    json: values.json === true,
  };
}

/** `S1,S2` (spaces allowed); empty states that the user is in no group. */
function usergroups(text: string): string[] {
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const bad = ids.filter((id) => !USERGROUP_ID.test(id));
  if (bad.length > 0) {
    throw usage(
      `--member-of takes Slack user group IDs such as S0123ABCD, separated by commas; ${bad.map((id) => `"${id}"`).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not.`,
      'explain',
    );
  }
  return ids;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(command: string, args: readonly string[], options: OptionSpec) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error), command);
  }
}

function usage(problem: string, command: string): CliError {
  return new CliError('usage', `${problem}\nRun jit-access-bot ${command} --help for the options.`);
}
