import { ConfigError } from '../../../src/config/config-error';
import { parseEnv } from '../../../src/config/env-schema';

const BOT_TOKEN = 'xoxb-1111-2222-abcdef';
const SIGNING_SECRET = '0123456789abcdef0123456789abcdef';
const APP_TOKEN = 'xapp-1-A0-123-abcdef';

/** The problems an environment is refused with; fails the test when it is accepted. */
function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the environment to be refused');
}

const MISSING_BOT_TOKEN =
  'SLACK_BOT_TOKEN: is missing: copy the Bot User OAuth Token (xoxb-…) from your Slack app → OAuth & Permissions';
const MISSING_SIGNING_SECRET =
  'SLACK_SIGNING_SECRET: is missing: copy it from Basic Information → App Credentials (or set SLACK_APP_TOKEN to use Socket Mode)';

describe('parseEnv', () => {
  it('applies the defaults', () => {
    expect(parseEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET })).toEqual({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      redisUrlGiven: false,
      JIT_LOCAL_REDIS_PORT: 6379,
      JIT_REDIS_WAIT_MS: 15_000,
      JIT_POLICY_FILE: './policy.yml',
      JIT_REDIS_PREFIX: 'jit',
      JIT_JOB_LOCK_MS: 30_000,
      JIT_RUN_WORKERS: true,
      JIT_GRANT_CONCURRENCY: 50,
      JIT_REVOKE_CONCURRENCY: 200,
      LOG_LEVEL: 'info',
    });
  });

  it('takes every setting given and ignores unrelated variables', () => {
    expect(
      parseEnv({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_APP_TOKEN: APP_TOKEN,
        SLACK_API_URL: 'http://127.0.0.1:4567/api/',
        PORT: '8080',
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        JIT_POLICY_FILE: '/etc/jit/policy.yml',
        JIT_REDIS_PREFIX: '{jit-prod}',
        LOG_LEVEL: 'debug',
        JIT_JOB_LOCK_MS: '5000',
        JIT_RUN_WORKERS: 'false',
        JIT_GRANT_CONCURRENCY: '8',
        JIT_REVOKE_CONCURRENCY: '64',
        HOME: '/root',
      }),
    ).toEqual({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: 'http://127.0.0.1:4567/api/',
      PORT: 8080,
      REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
      redisUrlGiven: true,
      JIT_LOCAL_REDIS_PORT: 6379,
      JIT_REDIS_WAIT_MS: 15_000,
      JIT_POLICY_FILE: '/etc/jit/policy.yml',
      JIT_REDIS_PREFIX: '{jit-prod}',
      LOG_LEVEL: 'debug',
      JIT_JOB_LOCK_MS: 5_000,
      JIT_RUN_WORKERS: false,
      JIT_GRANT_CONCURRENCY: 8,
      JIT_REVOKE_CONCURRENCY: 64,
    });
  });

  it('refuses job limits and worker switches it cannot use, naming the variable', () => {
    const parse = (extra: Record<string, string>) => () =>
      parseEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, ...extra });
    expect(parse({ JIT_REVOKE_CONCURRENCY: '0' })).toThrow(/JIT_REVOKE_CONCURRENCY.*at least 1/);
    expect(parse({ JIT_GRANT_CONCURRENCY: 'lots' })).toThrow(/JIT_GRANT_CONCURRENCY.*number of jobs/);
    expect(parse({ JIT_RUN_WORKERS: 'yes' })).toThrow(/JIT_RUN_WORKERS.*true or false/);
  });

  it('adds the trailing slash SLACK_API_URL needs', () => {
    const env = parseEnv({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: 'http://127.0.0.1:4567/api',
    });
    expect(env.SLACK_API_URL).toBe('http://127.0.0.1:4567/api/');
  });

  it('accepts PORT 0 (any free port)', () => {
    expect(parseEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: '0' }).PORT).toBe(0);
  });

  it('lists the missing bot token and signing secret together, each with its remedy', () => {
    const error = refusal({});
    expect(error.source).toBe('The environment');
    expect(error.problems).toEqual([MISSING_BOT_TOKEN, MISSING_SIGNING_SECRET]);
    expect(error.message).toContain('The environment has 2 problem(s):');
  });

  it('still says the signing secret is missing when another setting is malformed', () => {
    expect(refusal({ SLACK_BOT_TOKEN: BOT_TOKEN, PORT: 'http' }).problems).toEqual([
      'PORT: must be a port number',
      MISSING_SIGNING_SECRET,
    ]);
  });

  it('does not need a signing secret in Socket Mode', () => {
    const env = parseEnv({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN });
    expect(env.SLACK_APP_TOKEN).toBe(APP_TOKEN);
    expect(env.SLACK_SIGNING_SECRET).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    expect(
      parseEnv({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_APP_TOKEN: '',
        SLACK_API_URL: '',
        PORT: '',
        REDIS_URL: '',
        LOG_LEVEL: '',
        JIT_POLICY_FILE: '',
      }),
    ).toEqual({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      redisUrlGiven: false,
      JIT_LOCAL_REDIS_PORT: 6379,
      JIT_REDIS_WAIT_MS: 15_000,
      JIT_POLICY_FILE: './policy.yml',
      JIT_REDIS_PREFIX: 'jit',
      JIT_JOB_LOCK_MS: 30_000,
      JIT_RUN_WORKERS: true,
      JIT_GRANT_CONCURRENCY: 50,
      JIT_REVOKE_CONCURRENCY: 200,
      LOG_LEVEL: 'info',
    });
    expect(refusal({ SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '' }).problems).toEqual([
      MISSING_BOT_TOKEN,
      MISSING_SIGNING_SECRET,
    ]);
  });

  it('refuses tokens of the wrong kind', () => {
    expect(refusal({ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_APP_TOKEN: 'xoxb-not-an-app-token' }).problems).toEqual([
      'SLACK_BOT_TOKEN: must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)',
      'SLACK_APP_TOKEN: must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write)',
    ]);
  });

  it('refuses a signing secret that is not hex', () => {
    expect(refusal({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: 'not-a-secret' }).problems).toEqual([
      'SLACK_SIGNING_SECRET: must be the hex Signing Secret from Basic Information → App Credentials',
    ]);
  });

  it.each([
    ['abc', 'PORT: must be a port number'],
    ['80.5', 'PORT: must be a whole port number'],
    ['-1', 'PORT: must be between 0 and 65535'],
    ['65536', 'PORT: must be between 0 and 65535'],
  ])('refuses PORT=%j', (port, problem) => {
    expect(refusal({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: port }).problems).toEqual([
      problem,
    ]);
  });

  it.each(['http://127.0.0.1:6379', '127.0.0.1:6379', 'not a url'])('refuses REDIS_URL=%j', (url) => {
    expect(
      refusal({ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, REDIS_URL: url }).problems,
    ).toEqual(['REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379']);
  });

  it('refuses a non-http SLACK_API_URL, a bad prefix and an unknown log level', () => {
    expect(
      refusal({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: 'ftp://slack.com/api/',
        JIT_REDIS_PREFIX: 'jit:prod',
        LOG_LEVEL: 'verbose',
      }).problems,
    ).toEqual([
      'SLACK_API_URL: must be an http(s) URL such as https://slack.com/api/',
      'JIT_REDIS_PREFIX: may hold only letters, digits, -, _ and {} (for a Cluster hash tag)',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('never repeats the secret values it was given', () => {
    const secrets = {
      SLACK_BOT_TOKEN: 'xoxp-SECRET123',
      SLACK_SIGNING_SECRET: 'SIGNINGSECRET-not-hex',
      SLACK_APP_TOKEN: 'xoxa-APPSECRET456',
      REDIS_URL: 'http://user:REDISPASSWORD@host:6379',
    };
    const error = refusal(secrets);
    expect(error.problems).toHaveLength(4);
    const everything = `${error.message}\n${error.problems.join('\n')}\n${JSON.stringify(error)}`;
    for (const value of ['SECRET123', 'SIGNINGSECRET', 'APPSECRET456', 'REDISPASSWORD']) {
      expect(everything).not.toContain(value);
    }
  });
});
