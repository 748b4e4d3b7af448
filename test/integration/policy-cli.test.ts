import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../src/config/config-error';
import { loadConfig, loadPolicyFile } from '../../src/config/load-config';
import { PROVIDER_IAM_POWER, PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import { buildBot, type ProcessResult, runProcess } from '../support/bot-process';

const ROOT = resolve(__dirname, '../..');
/** The file package.json's "bin" names: what `npx jit-access-bot` runs. */
const BIN = join(ROOT, 'bin/jit-access-bot.js');

/** Runs the installed command in `cwd` with only PATH and the given variables: no Slack, Redis or cloud settings. */
function run(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  executable = false,
): Promise<ProcessResult> {
  return executable ? runProcess(BIN, args, cwd, env) : runProcess(process.execPath, [BIN, ...args], cwd, env);
}

const VALID = `
settings:
  adminChannel: C0ADMIN
roles:
  - id: sandbox
    description: Sandbox admin
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers: { users: [U0LEAD], usergroups: [S0ONCALL] }
    requesters: { users: [U0ALICE], usergroups: [S0DEVS] }
  - id: staging
    description: Deploy to staging
    provider: dryrun
    autoApprove: true
principals:
  U0ALICE: { dryrun: alice }
`;

/** Accepted, with the warnings the bot logs at start: an IAM-changing role left at its default risk. */
const WITH_WARNINGS = `
roles:
  - id: iam-admin
    description: IAM admin
    provider: aws
    target:
      kind: iam-policy
      statements: [{ Effect: Allow, Action: "iam:*", Resource: "*" }]
    approvalChannel: C0APPROVALS
    approvers: { users: [U0LEAD, U0SEC] }
  - id: gcp-admin
    description: Project IAM admin
    provider: gcp
    target: { resource: projects/payments-prod, role: roles/resourcemanager.projectIamAdmin }
    autoApprove: true
`;

/** Well-formed YAML with problems only the cross-checks and the providers' target schemas find. */
const INVALID = `
settings:
  maxDuration: 4h
roles:
  - id: sandbox
    description: Sandbox admin
    provider: dryrun
    maxDuration: 12h
    approvers: { users: [U0LEAD] }
    approvalsRequired: 2
  - id: sandbox
    description: Duplicate
    provider: cloudy
    autoApprove: true
  - id: assume
    description: Assume a role
    provider: aws
    target: { kind: assume-role, roleArn: "arn:aws:iam::12:role/Deploy" }
    autoApprove: true
  - id: sql
    description: Basic role
    provider: gcp
    target: { resource: projects/payments-prod, role: roles/editor }
    breakGlass: true
`;

const ENTRA_ID = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const SUBSCRIPTION = '/subscriptions/00000000-1111-2222-3333-444444444444';
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
const PERMISSION_SET = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef';

/** One role of every provider kind, all auto-approved so only the grants differ. */
const EVERY_KIND = `
roles:
  - { id: dry, description: d, provider: dryrun, autoApprove: true, target: { description: sandbox } }
  - id: aws-policy
    description: d
    provider: aws
    autoApprove: true
    target: { kind: iam-policy, statements: [{ Effect: Allow, Action: "logs:Get*", Resource: "*" }] }
  - id: aws-assume
    description: d
    provider: aws
    autoApprove: true
    target: { kind: assume-role, roleArn: "arn:aws:iam::123456789012:role/Deploy" }
  - id: aws-sso
    description: d
    provider: aws
    autoApprove: true
    target: { kind: identity-center, instanceArn: "${INSTANCE}", accountId: "123456789012", permissionSetArn: "${PERMISSION_SET}" }
  - id: azure-rbac
    description: d
    provider: azure
    autoApprove: true
    target: { kind: role-assignment, scope: "${SUBSCRIPTION}", roleDefinitionId: acdd72a7-3385-48ef-bd42-f606fba81ae7 }
  - id: azure-pim
    description: d
    provider: azure
    autoApprove: true
    target: { kind: pim, scope: "${SUBSCRIPTION}", roleDefinitionId: acdd72a7-3385-48ef-bd42-f606fba81ae7 }
  - id: gcp
    description: d
    provider: gcp
    autoApprove: true
    target: { resource: projects/payments-prod, role: roles/cloudsql.viewer }
principals:
  U0ALICE: { email: alice@corp.example, aws: alice, azure: ${ENTRA_ID} }
`;

describe('npx jit-access-bot check / explain (the command as a process)', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(() => {
    buildBot();
    dir = mkdtempSync(join(tmpdir(), 'jit-policy-cli-'));
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('check', () => {
    it('accepts a valid policy with exit 0 and an ok line, needing no Slack, Redis or cloud settings', async () => {
      const path = file('valid.yml', VALID);
      const result = await run(['check', path], dir);
      expect(result).toEqual({
        status: 0,
        stdout: `ok: ${path} is a valid policy: 2 role(s) (sandbox, staging)\n`,
        stderr: '',
      });
    });

    it('prints the warnings the bot logs at start, and still exits 0', async () => {
      const path = file('warnings.yml', WITH_WARNINGS);
      const { warnings } = loadPolicyFile(path, PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER);
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      const result = await run(['check', path], dir);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe(warnings.map((warning) => `check: warning: ${warning}\n`).join(''));
      expect(result.stdout).toBe(
        `ok: ${path} is a valid policy: 2 role(s) (iam-admin, gcp-admin), ${warnings.length} warning(s)\n`,
      );
    });

    it('refuses an invalid policy with exit 78, listing every problem exactly as the bot does at start', async () => {
      const path = file('invalid.yml', INVALID);
      let atStart: ConfigError | undefined;
      try {
        loadConfig(
          { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: '0123456789abcdef0123', JIT_POLICY_FILE: path },
          PROVIDER_TARGET_SCHEMAS,
          PROVIDER_IAM_POWER,
        );
      } catch (error) {
        if (error instanceof ConfigError) atStart = error;
      }
      const prefix = `The policy file ${path}: `;
      const expected = (atStart?.problems ?? []).map((problem) => problem.replace(prefix, ''));
      expect(expected.length).toBeGreaterThanOrEqual(6);

      const result = await run(['check', path], dir);
      expect(result).toMatchObject({ status: 78, stdout: '' });
      const [heading, ...problems] = result.stderr.trimEnd().split('\n');
      expect(heading).toBe(`check: The policy file ${path} has ${expected.length} problem(s):`);
      expect(problems).toEqual(expected.map((problem) => `  - ${problem}`));
      expect(result.stderr).toContain('roles[0].maxDuration: 12h exceeds settings.maxDuration 4h');
      expect(result.stderr).toContain('roles[3].target.role: "roles/editor" is a basic role');
    });

    it('says when the file is missing or not YAML, with exit 78', async () => {
      const missing = await run(['check', 'nowhere.yml'], dir);
      expect(missing).toEqual({
        status: 78,
        stdout: '',
        stderr:
          'check: The policy file nowhere.yml has 1 problem(s):\n  - does not exist: set JIT_POLICY_FILE to your policy file, or start from the policy.yml in this repository\n',
      });
      const broken = await run(['check', file('broken.yml', 'roles: [\n')], dir);
      expect(broken.status).toBe(78);
      expect(broken.stderr).toContain('is not valid YAML');
    });

    it('reads JIT_POLICY_FILE (from the environment, then .env), else ./policy.yml, as the bot does', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'jit-policy-cli-default-'));
      try {
        writeFileSync(join(cwd, 'policy.yml'), VALID);
        expect((await run(['check'], cwd)).stdout).toBe(
          'ok: ./policy.yml is a valid policy: 2 role(s) (sandbox, staging)\n',
        );

        const other = file('other.yml', WITH_WARNINGS);
        writeFileSync(join(cwd, '.env'), `JIT_POLICY_FILE=${other}\n`);
        expect((await run(['check'], cwd)).stdout).toContain(`ok: ${other} is a valid policy: 2 role(s)`);

        const fromEnv = await run(['check'], cwd, { JIT_POLICY_FILE: join(cwd, 'missing.yml') });
        expect(fromEnv.status).toBe(78);
        expect(fromEnv.stderr).toContain('missing.yml has 1 problem(s)');
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });

    it('runs as an executable file, as npm links it', async () => {
      expect(statSync(BIN).mode & 0o111).not.toBe(0);
      const result = await run(['check', file('valid.yml', VALID)], dir, {}, true);
      expect(result.status).toBe(0);
    });
  });

  describe('usage', () => {
    it.each([
      [[], 'jit-access-bot: a command is needed.'],
      [['lint'], 'jit-access-bot: "lint" is not a command.'],
      [['check', 'a.yml', 'b.yml'], 'check: takes one policy file, got 2: a.yml b.yml.'],
      [['check', '--fix'], "check: Unknown option '--fix'"],
      [['explain'], 'explain: needs a Slack user ID'],
      [['explain', 'alice'], 'explain: "alice" is not a Slack user ID'],
      [['explain', 'U0ALICE', '--member-of', 'devs'], 'explain: --member-of takes Slack user group IDs'],
      [['audit', '--format', 'xml'], 'audit: --format "xml" is not a format; use jsonl or csv.'],
    ])('refuses %j with exit 64', async (args, message) => {
      const result = await run(args, dir);
      expect(result).toMatchObject({ status: 64, stdout: '' });
      expect(result.stderr).toContain(message);
    });

    it('refuses an unknown role with exit 64, naming the roles there are', async () => {
      const path = file('valid.yml', VALID);
      const result = await run(['explain', 'U0ALICE', 'prod', '--policy', path], dir);
      expect(result).toEqual({
        status: 64,
        stdout: '',
        stderr: `explain: ${path} has no role "prod"; its roles are sandbox, staging.\n`,
      });
    });

    it('prints help for the command and each subcommand', async () => {
      expect(await run(['--help'], dir)).toMatchObject({ status: 0, stderr: '' });
      expect((await run(['check', '--help'], dir)).stdout).toContain('Usage: npx jit-access-bot check [policy.yml]');
      expect((await run(['explain', '-h'], dir)).stdout).toContain('--member-of <S…,S…>');
      expect((await run(['audit', '--help'], dir)).stdout).toContain('npx jit-access-bot audit [options]');
    });
  });

  describe('explain', () => {
    it('says a user named in requesters.users may request, and what the grant creates', async () => {
      const path = file('valid.yml', VALID);
      const result = await run(['explain', 'U0ALICE', 'sandbox', '--policy', path], dir);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.stdout).toContain(`Slack user U0ALICE, policy ${path}\n`);
      expect(result.stdout).toContain('sandbox — Sandbox admin (provider dryrun)\n');
      expect(result.stdout).toContain('  may request:   yes: named in requesters.users\n');
      expect(result.stdout).toContain('  approval:      1 distinct approval in C0APPROVALS; one denial denies\n');
      expect(result.stdout).toContain(
        '  approvers:     U0LEAD, members of S0ONCALL; they are an approver too if a member',
      );
      expect(result.stdout).toContain('  duration:      up to 8h, 1h when none is asked for (at least 1m)\n');
      expect(result.stdout).toContain('  approval wait: 30m, then the request times out\n');
      expect(result.stdout).toContain('  granted as:    alice (principals.U0ALICE.dryrun)\n');
      expect(result.stdout).not.toContain('staging');
    });

    it('says honestly that a user group decides when memberships are not stated', async () => {
      const path = file('valid.yml', VALID);
      const result = await run(['explain', 'U0BOB', '--policy', path], dir);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('User groups: not stated; membership lives in Slack');
      expect(result.stdout).toContain('  may request:   only if a member of S0DEVS; not named in requesters.users\n');
      // The role that names no requesters is open to anyone.
      expect(result.stdout).toContain(
        '  may request:   yes: the role names no requesters, so anyone in the workspace may\n',
      );
    });

    it('takes stated memberships: a member of a requesters group may, someone in no such group may not', async () => {
      const path = file('valid.yml', VALID);
      const member = await run(['explain', 'U0BOB', 'sandbox', '--policy', path, '--member-of', 'S0OPS,S0DEVS'], dir);
      expect(member.stdout).toContain('User groups: S0OPS, S0DEVS (as stated)');
      expect(member.stdout).toContain('  may request:   yes: as a member of S0DEVS (as stated)\n');

      const outsider = await run(['explain', 'U0BOB', 'sandbox', '--policy', path, '--member-of', 'S0OPS'], dir);
      expect(outsider.status).toBe(0);
      expect(outsider.stdout).toContain(
        '  may request:   no: not named in requesters.users, and not stated to be a member of S0DEVS\n',
      );
    });

    it('writes one JSON document with --json', async () => {
      const path = file('valid.yml', VALID);
      const result = await run(
        ['explain', 'U0BOB', 'sandbox', '--policy', path, '--json', '--member-of', 'S0DEVS'],
        dir,
      );
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        policyFile: path,
        user: 'U0BOB',
        memberOf: ['S0DEVS'],
        identity: 'email',
        minDurationMs: 60_000,
        roles: [
          {
            id: 'sandbox',
            description: 'Sandbox admin',
            provider: 'dryrun',
            requesters: { users: ['U0ALICE'], usergroups: ['S0DEVS'] },
            request: { answer: 'yes', via: 'usergroups', usergroups: ['S0DEVS'] },
            approval: {
              mode: 'approvers',
              approvers: { users: ['U0LEAD'], usergroups: ['S0ONCALL'] },
              approvalsRequired: 1,
              approvalChannel: 'C0APPROVALS',
              approvalTimeoutMs: 1_800_000,
              userApproves: { answer: 'no', usergroups: [] },
            },
            maxDurationMs: 28_800_000,
            defaultDurationMs: 3_600_000,
            risk: { level: 'low' },
            breakGlass: false,
            selfExtend: false,
            grant: {
              artefact:
                'nothing in any cloud: a record jit-<requestId> in Redis of the grant to U0BOB, deleted at expiry',
              grantee: 'U0BOB (their Slack user ID)',
            },
          },
        ],
      });
    });

    it("describes each provider kind's cloud artefact and the identity it names", async () => {
      const path = file('every-kind.yml', EVERY_KIND);
      const result = await run(['explain', 'U0ALICE', '--policy', path, '--json'], dir);
      expect(result.status).toBe(0);
      const grants = Object.fromEntries(
        (JSON.parse(result.stdout) as { roles: { id: string; grant: unknown }[] }).roles.map((role) => [
          role.id,
          role.grant,
        ]),
      );
      const reader = `${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
      expect(grants).toEqual({
        dry: {
          artefact:
            'nothing in any cloud: a record jit-<requestId> in Redis of the grant to U0ALICE (sandbox), deleted at expiry',
          grantee: 'U0ALICE (their Slack user ID)',
        },
        'aws-policy': {
          artefact:
            "customer managed policy /jit/jit-<requestId> holding the role's 1 statement(s), attached to IAM user alice; AWS ends it at expiry (DateLessThan aws:CurrentTime)",
          grantee: 'IAM user alice (principals.U0ALICE.aws)',
        },
        'aws-assume': {
          artefact:
            'customer managed policy /jit/jit-<requestId> allowing sts:AssumeRole on arn:aws:iam::123456789012:role/Deploy, attached to IAM user alice; AWS ends it at expiry (DateLessThan aws:CurrentTime)',
          grantee: 'IAM user alice (principals.U0ALICE.aws)',
        },
        'aws-sso': {
          artefact: `account assignment of permission set ${PERMISSION_SET} in account 123456789012 (instance ${INSTANCE}) to the Identity Center user with email alice@corp.example; the bot removes it at expiry`,
          grantee: 'the Identity Center user with email alice@corp.example (principals.U0ALICE.email)',
        },
        'azure-rbac': {
          artefact: `role assignment of role ${reader} at ${SUBSCRIPTION} to Entra object ${ENTRA_ID}, named by a GUID derived from the request ID and described "jit <requestId> until <expiry>"; the bot removes it at expiry`,
          grantee: `Entra object ${ENTRA_ID} (principals.U0ALICE.azure)`,
        },
        'azure-pim': {
          artefact: `PIM schedule on ${SUBSCRIPTION}: an active assignment of role ${reader} to Entra object ${ENTRA_ID}, with an expiration Azure enforces`,
          grantee: `Entra object ${ENTRA_ID} (principals.U0ALICE.azure)`,
        },
        gcp: {
          artefact:
            'conditional IAM binding of roles/cloudsql.viewer on projects/payments-prod for user:alice@corp.example, titled jit-<requestId> with the condition request.time < timestamp(<expiry>), so IAM ends it at expiry',
          grantee: 'user:alice@corp.example (principals.U0ALICE.email)',
        },
      });
    });

    it('refuses to explain an invalid policy, with exit 78 and the loader problems', async () => {
      const path = file('invalid.yml', INVALID);
      const result = await run(['explain', 'U0ALICE', '--policy', path], dir);
      expect(result).toMatchObject({ status: 78, stdout: '' });
      expect(result.stderr).toContain(`explain: The policy file ${path} has `);
      expect(result.stderr).toContain('roles[1].id: "sandbox" is already used by roles[0]');
    });
  });
});
