import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/config/config-error';
import { loadConfig } from '../../../src/config/load-config';
import { parsePolicy } from '../../../src/config/policy-schema';
import { PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';

const ROLES = `roles:
  - id: staging-deployer
    description: Deploy to staging
    provider: dryrun
    autoApprove: true
`;
const withWebhook = (webhook: string) => `settings:\n  auditWebhook:\n${webhook}\n${ROLES}`;
const parse = (text: string) => parsePolicy(text, 'policy.yml', PROVIDER_TARGET_SCHEMAS, {}, PROVIDER_PROPAGATION_MS);

function problems(text: string): readonly string[] {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the policy to be refused');
}

describe('settings.auditWebhook', () => {
  it('takes the URL and the name of the secret variable, with a 10s timeout by default', () => {
    const policy = parse(withWebhook('    url: https://siem.example/ingest\n    secretEnv: JIT_AUDIT_WEBHOOK_SECRET'));
    expect(policy.settings.auditWebhook).toEqual({
      url: 'https://siem.example/ingest',
      secretEnv: 'JIT_AUDIT_WEBHOOK_SECRET',
      timeoutMs: 10_000,
    });
    expect(policy.warnings).toEqual([]);
  });

  it('is absent unless set', () => {
    expect(parse(ROLES).settings.auditWebhook).toBeUndefined();
  });

  it('refuses the secret itself in the policy, a bad variable name, a non-http URL and a long timeout', () => {
    expect(
      problems(withWebhook('    url: https://siem.example/ingest\n    secretEnv: JIT_X\n    secret: hunter2hunter2')),
    ).toEqual([expect.stringMatching(/^settings\.auditWebhook: .*secret/)]);
    expect(problems(withWebhook('    url: https://siem.example/ingest\n    secretEnv: my-secret'))).toEqual([
      expect.stringMatching(/^settings\.auditWebhook\.secretEnv: must name an environment variable/),
    ]);
    expect(problems(withWebhook('    url: ftp://siem.example/\n    secretEnv: JIT_X'))).toEqual([
      expect.stringMatching(/^settings\.auditWebhook\.url: must be the receiver's http\(s\) URL/),
    ]);
    expect(problems(withWebhook('    url: https://siem.example/\n    secretEnv: JIT_X\n    timeout: 5m'))).toEqual([
      expect.stringMatching(/^settings\.auditWebhook\.timeout: must be at most 1m/),
    ]);
    expect(problems(withWebhook('    url: https://siem.example/'))).toEqual([
      expect.stringMatching(/^settings\.auditWebhook\.secretEnv: /),
    ]);
  });

  it('warns about plain http to anything but this machine', () => {
    const remote = parse(withWebhook('    url: http://siem.example/ingest\n    secretEnv: JIT_X'));
    expect(remote.warnings).toEqual([expect.stringContaining('settings.auditWebhook.url is plain http')]);
    const local = parse(withWebhook('    url: http://127.0.0.1:8080/ingest\n    secretEnv: JIT_X'));
    expect(local.warnings).toEqual([]);
  });
});

describe('loadConfig and the audit webhook secret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-audit-webhook-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const load = (env: Record<string, string>) => {
    const path = join(dir, 'policy.yml');
    writeFileSync(path, withWebhook('    url: https://siem.example/ingest\n    secretEnv: JIT_AUDIT_WEBHOOK_SECRET'));
    return loadConfig(
      {
        SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
        SLACK_SIGNING_SECRET: '0123456789abcdef0123',
        JIT_POLICY_FILE: path,
        ...env,
      },
      PROVIDER_TARGET_SCHEMAS,
    );
  };

  it('refuses a webhook whose secret variable is unset, naming it, with the other problems', () => {
    let refusal: unknown;
    try {
      load({ SLACK_BOT_TOKEN: 'not-a-token' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ConfigError);
    const listed = (refusal as ConfigError).problems;
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.stringContaining('SLACK_BOT_TOKEN'),
        expect.stringMatching(
          /^The environment: JIT_AUDIT_WEBHOOK_SECRET: is missing: settings\.auditWebhook\.secretEnv in the policy names it/,
        ),
      ]),
    );
  });

  it('refuses a secret too short to sign with, and starts with a good one', () => {
    expect(() => load({ JIT_AUDIT_WEBHOOK_SECRET: 'short' })).toThrow(/JIT_AUDIT_WEBHOOK_SECRET: is too short/);
    expect(load({ JIT_AUDIT_WEBHOOK_SECRET: 'a'.repeat(32) }).policy.settings.auditWebhook?.secretEnv).toBe(
      'JIT_AUDIT_WEBHOOK_SECRET',
    );
  });
});
