import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/config/config-error';
import { loadConfig, loadPolicyFile } from '../../../src/config/load-config';
import { PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';

const VALID_ENV = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: '0123456789abcdef0123' };
const VALID_POLICY = `roles:
  - id: staging-deployer
    description: Deploy to staging
    provider: dryrun
    autoApprove: true
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jit-load-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writePolicy(text: string): string {
  const path = join(dir, 'policy.yml');
  writeFileSync(path, text);
  return path;
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns the parsed environment and policy', () => {
    const path = writePolicy(VALID_POLICY);
    const config = loadConfig({ ...VALID_ENV, JIT_POLICY_FILE: path }, PROVIDER_TARGET_SCHEMAS);
    expect(config.env).toMatchObject({ ...VALID_ENV, JIT_POLICY_FILE: path, PORT: 3000 });
    expect(config.policy.roles.map((role) => role.id)).toEqual(['staging-deployer']);
  });

  it('names JIT_POLICY_FILE when the policy file does not exist', () => {
    const path = join(dir, 'missing.yml');
    const error = refusal(() => loadConfig({ ...VALID_ENV, JIT_POLICY_FILE: path }, PROVIDER_TARGET_SCHEMAS));
    expect(error.source).toBe('The configuration');
    expect(error.problems).toEqual([
      `The policy file ${path}: does not exist: set JIT_POLICY_FILE to your policy file, or start from the policy.yml in this repository`,
    ]);
  });

  it('says a directory cannot be read as the policy file', () => {
    const error = refusal(() => loadConfig({ ...VALID_ENV, JIT_POLICY_FILE: dir }, PROVIDER_TARGET_SCHEMAS));
    expect(error.problems).toEqual([
      `The policy file ${dir}: cannot be read (EISDIR): check the path and its permissions`,
    ]);
  });

  it('reports environment and policy problems together', () => {
    const path = writePolicy('roles:\n  - id: Bad\n    description: x\n    provider: dryrun\n    autoApprove: true\n');
    const error = refusal(() => loadConfig({ JIT_POLICY_FILE: path, PORT: 'eighty' }, PROVIDER_TARGET_SCHEMAS));
    expect(error.problems).toEqual([
      'The environment: SLACK_BOT_TOKEN: is missing: copy the Bot User OAuth Token (xoxb-…) from your Slack app → OAuth & Permissions',
      'The environment: PORT: must be a port number',
      'The environment: SLACK_SIGNING_SECRET: is missing: copy it from Basic Information → App Credentials (or set SLACK_APP_TOKEN to use Socket Mode)',
      `The policy file ${path}: roles[0].id: must be lowercase letters, digits and single dashes, e.g. sandbox-admin`,
    ]);
    expect(error.message).toMatch(/^The configuration has 4 problem\(s\):\n {2}- The environment: SLACK_BOT_TOKEN/);
  });

  it('reads the policy named by JIT_POLICY_FILE even when the rest of the environment is wrong', () => {
    const path = writePolicy(VALID_POLICY);
    const error = refusal(() =>
      loadConfig({ JIT_POLICY_FILE: path, SLACK_SIGNING_SECRET: 'abcdefabcdefabcdef' }, PROVIDER_TARGET_SCHEMAS),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^The environment: SLACK_BOT_TOKEN: is missing/);
  });
});

describe('loadPolicyFile', () => {
  it('names the file as the source of policy problems', () => {
    const path = writePolicy('roles: []\n');
    const error = refusal(() => loadPolicyFile(path, PROVIDER_TARGET_SCHEMAS));
    expect(error.source).toBe(`The policy file ${path}`);
    expect(error.problems).toEqual(['roles: must list at least one role']);
  });
});
