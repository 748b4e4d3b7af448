import { readFileSync } from 'node:fs';
import type { Policy } from '../domain/policy';
import { auditWebhookSecretProblem } from './audit-webhook-secret';
import { ConfigError } from './config-error';
import { type EnvConfig, parseEnv } from './env-schema';
import { type IamPowerDetectors, type PropagationDefaults, parsePolicy, type TargetSchemas } from './policy-schema';

export interface AppConfig {
  env: EnvConfig;
  policy: Policy;
}

/** Reads and validates the policy file named by `JIT_POLICY_FILE`. @throws ConfigError */
export function loadPolicyFile(
  path: string,
  targetSchemas: TargetSchemas,
  iamPower: IamPowerDetectors = {},
  propagation: PropagationDefaults = {},
): Policy {
  return parsePolicyFileText(readPolicyFile(path), path, targetSchemas, iamPower, propagation);
}

/** The policy file's text. @throws ConfigError when it is missing or unreadable */
export function readPolicyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`The policy file ${path}`, [
      code === 'ENOENT'
        ? 'does not exist: set JIT_POLICY_FILE to your policy file, or start from the policy.yml in this repository'
        : `cannot be read (${code ?? String(error)}): check the path and its permissions`,
    ]);
  }
}

/** Validates text read from the policy file at `path`, as at start (a reload uses this too). @throws ConfigError */
export function parsePolicyFileText(
  text: string,
  path: string,
  targetSchemas: TargetSchemas,
  iamPower: IamPowerDetectors = {},
  propagation: PropagationDefaults = {},
): Policy {
  return parsePolicy(text, `The policy file ${path}`, targetSchemas, iamPower, propagation);
}

/**
 * Everything the bot needs before it starts, validated once. The environment and the policy file are both
 * checked so one run shows every problem.
 * @throws ConfigError listing all problems found
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  targetSchemas: TargetSchemas,
  iamPower: IamPowerDetectors = {},
  propagation: PropagationDefaults = {},
): AppConfig {
  const errors: ConfigError[] = [];
  let parsedEnv: EnvConfig | undefined;
  try {
    parsedEnv = parseEnv(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(error);
  }
  let policy: Policy | undefined;
  try {
    policy = loadPolicyFile(
      parsedEnv?.JIT_POLICY_FILE ?? env.JIT_POLICY_FILE ?? './policy.yml',
      targetSchemas,
      iamPower,
      propagation,
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(error);
  }
  // The webhook's secret is named by the policy and read from the environment: checked once both are known.
  const secretProblem = policy && auditWebhookSecretProblem(policy, env);
  if (secretProblem !== undefined) errors.push(new ConfigError('The environment', [secretProblem]));
  if (parsedEnv && policy && errors.length === 0) return { env: parsedEnv, policy };
  throw new ConfigError(
    'The configuration',
    errors.flatMap((error) => error.problems.map((problem) => `${error.source}: ${problem}`)),
  );
}
