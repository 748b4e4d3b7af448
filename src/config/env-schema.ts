import { z } from 'zod';
import { ConfigError, formatIssues } from './config-error';
import { parseResourceManagerEndpoint } from './resource-manager-endpoint';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Jobs of one kind a process runs at once; they mostly wait on a cloud's API, so many fit in one process. */
function jobConcurrency(defaultValue: number) {
  return z.coerce
    .number({ error: 'must be a number of jobs' })
    .int({ error: 'must be a whole number of jobs' })
    .min(1, { error: 'must be at least 1' })
    .max(1_000, { error: 'must be at most 1000' })
    .default(defaultValue);
}

const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string({
      error: 'is missing: copy the Bot User OAuth Token (xoxb-…) from your Slack app → OAuth & Permissions',
    })
    .regex(/^xoxb-/, {
      error: 'must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)',
    }),
  SLACK_SIGNING_SECRET: z
    .string()
    .regex(/^[0-9a-f]{16,}$/i, { error: 'must be the hex Signing Secret from Basic Information → App Credentials' })
    .optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, {
      error:
        'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write)',
    })
    .optional(),
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://slack.com/api/' })
    .transform((url) => (url.endsWith('/') ? url : `${url}/`))
    .optional(),
  PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be a whole port number' })
    .min(0, { error: 'must be between 0 and 65535' })
    .max(65535, { error: 'must be between 0 and 65535' })
    .default(3000),
  // No default here: whether it was given decides if the bot may start a local Redis (see parseEnv).
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379' })
    .optional(),
  JIT_LOCAL_REDIS_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be a whole port number' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' })
    .default(6379),
  JIT_REDIS_WAIT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(1_000, { error: 'must be at least 1000 ms' })
    .max(600_000, { error: 'must be at most 600000 ms' })
    .default(15_000),
  JIT_POLICY_FILE: z.string().min(1).default('./policy.yml'),
  JIT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_-]+$/, { error: 'may hold only letters, digits, -, _ and {} (for a Cluster hash tag)' })
    .default('jit'),
  AZURE_RESOURCE_MANAGER_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be the ARM base URL, e.g. https://management.usgovcloudapi.net' })
    .optional(),
  AZURE_AUTHORITY_HOST: z
    .url({ protocol: /^https?$/, error: 'must be the Entra ID authority, e.g. https://login.microsoftonline.us' })
    .optional(),
  AZURE_GRAPH_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be the Microsoft Graph base URL, e.g. https://graph.microsoft.us' })
    .optional(),
  GCP_RESOURCE_MANAGER_ENDPOINT: z
    .string()
    .refine((value) => isResourceManagerEndpoint(value), {
      error: 'must be host[:port] (or http://host:port for a local endpoint), e.g. cloudresourcemanager.googleapis.com',
    })
    .optional(),
  JIT_JOB_LOCK_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(1_000, { error: 'must be at least 1000 ms' })
    .max(600_000, { error: 'must be at most 600000 ms' })
    .default(30_000),
  JIT_RUN_WORKERS: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((value) => value === 'true'),
  JIT_GRANT_CONCURRENCY: jobConcurrency(50),
  JIT_REVOKE_CONCURRENCY: jobConcurrency(200),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

function isResourceManagerEndpoint(value: string): boolean {
  try {
    parseResourceManagerEndpoint(value);
    return true;
  } catch {
    return false;
  }
}

/** The settings, with `REDIS_URL` always filled in and `redisUrlGiven` telling whether it came from the user. */
export type EnvConfig = Omit<z.infer<typeof envSchema>, 'REDIS_URL'> & {
  REDIS_URL: string;
  /** False when `REDIS_URL` was unset: the bot then uses, or starts, a Redis on 127.0.0.1:`JIT_LOCAL_REDIS_PORT`. */
  redisUrlGiven: boolean;
};

/** The Redis used when `REDIS_URL` is unset: the local one on the loopback address. */
export function localRedisUrl(port: number): string {
  return `redis://127.0.0.1:${port}`;
}

function withRedisUrl<T extends { REDIS_URL?: string | undefined; JIT_LOCAL_REDIS_PORT: number }>(
  data: T,
): Omit<T, 'REDIS_URL'> & { REDIS_URL: string; redisUrlGiven: boolean } {
  return {
    ...data,
    REDIS_URL: data.REDIS_URL ?? localRedisUrl(data.JIT_LOCAL_REDIS_PORT),
    redisUrlGiven: data.REDIS_URL !== undefined,
  };
}

/** Every variable the bot itself reads, so deployment files can be checked against the schema. */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as readonly (keyof EnvConfig)[];

/**
 * Reads the settings from the environment once, listing every missing or bad one with its fix.
 * Empty values count as unset, so a copied `.env.example` with blanks behaves like one without the lines.
 * @throws ConfigError
 */
export function parseEnv(env: NodeJS.ProcessEnv): EnvConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = envSchema.safeParse(present);
  const problems = result.success ? [] : formatIssues(result.error.issues);
  // Checked apart from the schema so it is reported even when other keys are bad too.
  if (present.SLACK_APP_TOKEN === undefined && present.SLACK_SIGNING_SECRET === undefined) {
    problems.push(
      'SLACK_SIGNING_SECRET: is missing: copy it from Basic Information → App Credentials (or set SLACK_APP_TOKEN to use Socket Mode)',
    );
  }
  if (!result.success || problems.length > 0) throw new ConfigError('The environment', problems);
  return withRedisUrl(result.data);
}

/** The settings that locate the store: all the audit export needs, so it runs without any Slack settings. */
export type StoreEnvConfig = Pick<EnvConfig, 'REDIS_URL' | 'JIT_REDIS_PREFIX'>;

/**
 * Reads only `REDIS_URL` (or `JIT_LOCAL_REDIS_PORT`) and `JIT_REDIS_PREFIX`, with the same rules and defaults as
 * {@link parseEnv}.
 * @throws ConfigError
 */
export function parseStoreEnv(env: NodeJS.ProcessEnv): StoreEnvConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = envSchema
    .pick({ REDIS_URL: true, JIT_REDIS_PREFIX: true, JIT_LOCAL_REDIS_PORT: true })
    .safeParse(present);
  if (!result.success) throw new ConfigError('The environment', formatIssues(result.error.issues));
  const { REDIS_URL, JIT_REDIS_PREFIX } = withRedisUrl(result.data);
  return { REDIS_URL, JIT_REDIS_PREFIX };
}
