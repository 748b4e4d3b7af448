import type { Policy } from '../domain/policy';
import { ConfigError } from './config-error';

/** Shorter secrets are refused: an HMAC is only as strong as its key. */
const MIN_SECRET_LENGTH = 16;

/** Environment variables as read at start (only strings; unset and empty are the same). */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * What is wrong with the audit webhook's secret in this environment, or undefined when it is fine or the policy
 * sets no webhook. The message names the variable and how to fix it.
 */
export function auditWebhookSecretProblem(policy: Policy, env: Environment): string | undefined {
  const webhook = policy.settings.auditWebhook;
  if (webhook === undefined) return undefined;
  const secret = env[webhook.secretEnv];
  if (secret === undefined || secret === '') {
    return `${webhook.secretEnv}: is missing: settings.auditWebhook.secretEnv in the policy names it as the secret audit events are signed with; set it to a long random value that the receiver at ${webhook.url} shares (or remove settings.auditWebhook)`;
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    return `${webhook.secretEnv}: is too short to sign audit events with: use at least ${MIN_SECRET_LENGTH} random characters (32 hex bytes is a good choice)`;
  }
  return undefined;
}

/**
 * The audit webhook's signing secret, undefined when the policy sets no webhook.
 * @throws ConfigError naming the variable when it is unset or too short
 */
export function auditWebhookSecret(policy: Policy, env: Environment): string | undefined {
  const problem = auditWebhookSecretProblem(policy, env);
  if (problem !== undefined) throw new ConfigError('The environment', [problem]);
  const name = policy.settings.auditWebhook?.secretEnv;
  return name === undefined ? undefined : env[name];
}
