import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_CLOUD_RATES } from '../../../src/config/cloud-rates';
import { ConfigError } from '../../../src/config/config-error';
import { parsePolicy } from '../../../src/config/policy-schema';
import type { Policy } from '../../../src/domain/policy';
import { PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';

const SOURCE = 'policy.yml';
const M = 60_000;
/** The operational settings every policy gets when it names none. */
const OPERATIONS_DEFAULTS = {
  admins: { users: [], usergroups: [] },
  alertAfter: 3,
  reconcileEveryMs: 60_000,
  reminderBeforeMs: 600_000,
  propagationMs: { dryrun: 0, aws: 60_000, gcp: 7 * 60_000, azure: 10 * 60_000 },
  auditRetentionMs: 90 * 24 * 3_600_000,
  allowedTeams: [],
  maxOpenRequestsPerPerson: 5,
  identity: 'email',
  maxLeadTimeMs: 7 * 24 * 3_600_000,
  cloudRates: DEFAULT_CLOUD_RATES,
};
const H = 60 * M;

const parse = (text: string): Policy => parsePolicy(text, SOURCE, PROVIDER_TARGET_SCHEMAS, {}, PROVIDER_PROPAGATION_MS);

/** The problems a policy text is refused with; fails the test when it is accepted or fails otherwise. */
function problemsOf(text: string): readonly string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).source).toBe(SOURCE);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the policy to be refused');
}

/** One YAML document from lines, for readable fixtures. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** A valid approval-gated role as flow-style YAML, with fields replaced or added. */
function role(fields: Record<string, string> = {}): string {
  const base: Record<string, string> = {
    id: 'sandbox-admin',
    description: 'Admin on the sandbox',
    provider: 'dryrun',
    approvalChannel: 'C0APPROVALS',
    approvers: '{users: [U0LEAD]}',
    ...fields,
  };
  const entries = Object.entries(base)
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}: ${value}`);
  return `  - {${entries.join(', ')}}`;
}

const MINIMAL = yaml('roles:', role());

describe('parsePolicy', () => {
  describe('valid policies', () => {
    it("parses the repository's own policy.yml", () => {
      const text = readFileSync(join(__dirname, '../../../policy.yml'), 'utf8');
      const policy = parse(text);
      expect(policy.settings).toEqual({
        defaultDurationMs: H,
        minDurationMs: M,
        maxDurationMs: 8 * H,
        approvalTimeoutMs: 30 * M,
        ...OPERATIONS_DEFAULTS,
      });
      expect(policy.roles.map((r) => r.id)).toEqual(['sandbox-admin', 'prod-db-read', 'staging-deployer']);
      expect(policy.roles[0]).toMatchObject({
        provider: 'dryrun',
        target: { description: 'sandbox account, AdministratorAccess' },
        maxDurationMs: 4 * H,
        defaultDurationMs: H,
        approvers: { users: ['U0LEAD'], usergroups: ['S0ONCALL'] },
        approvalsRequired: 1,
        autoApprove: false,
      });
      expect(policy.roles[1]).toMatchObject({
        approvalsRequired: 2,
        approvers: { users: [], usergroups: ['S0ONCALL'] },
      });
      expect(policy.roles[2]).toMatchObject({ autoApprove: true, defaultDurationMs: 2 * H, maxDurationMs: 8 * H });
      expect(policy.principals).toEqual({});
    });

    it('fills every default into a minimal policy', () => {
      expect(parse(MINIMAL)).toEqual({
        settings: {
          defaultDurationMs: H,
          minDurationMs: M,
          maxDurationMs: 8 * H,
          approvalTimeoutMs: 30 * M,
          ...OPERATIONS_DEFAULTS,
        },
        roles: [
          {
            id: 'sandbox-admin',
            description: 'Admin on the sandbox',
            provider: 'dryrun',
            target: {},
            maxDurationMs: 8 * H,
            defaultDurationMs: H,
            approvalTimeoutMs: 30 * M,
            approvalChannel: 'C0APPROVALS',
            approvers: { users: ['U0LEAD'], usergroups: [] },
            approvalsRequired: 1,
            autoApprove: false,
            requesters: { users: [], usergroups: [] },
            risk: 'low',
            breakGlass: false,
            selfExtend: false,
            maxLeadTimeMs: 7 * 24 * H,
          },
        ],
        principals: {},
        warnings: [],
      });
    });

    it('caps the inherited default duration at the role maximum', () => {
      const policy = parse(yaml('settings: {defaultDuration: 2h}', 'roles:', role({ maxDuration: '30m' })));
      expect(policy.roles[0]).toMatchObject({ maxDurationMs: 30 * M, defaultDurationMs: 30 * M });
    });

    it('keeps an explicit role default and approval timeout', () => {
      const policy = parse(yaml('roles:', role({ maxDuration: '4h', defaultDuration: '3h', approvalTimeout: '5m' })));
      expect(policy.roles[0]).toMatchObject({
        maxDurationMs: 4 * H,
        defaultDurationMs: 3 * H,
        approvalTimeoutMs: 5 * M,
      });
    });

    it('takes settings, an audit channel and principals', () => {
      const policy = parse(
        yaml(
          'settings: {defaultDuration: 15m, minDuration: 5m, maxDuration: 1d, approvalTimeout: 2h, auditChannel: C0AUDIT}',
          'roles:',
          role(),
          'principals:',
          '  U0ALICE: {dryrun: alice, aws: alice@example.com}',
        ),
      );
      expect(policy.settings).toEqual({
        defaultDurationMs: 15 * M,
        minDurationMs: 5 * M,
        maxDurationMs: 24 * H,
        approvalTimeoutMs: 2 * H,
        auditChannel: 'C0AUDIT',
        ...OPERATIONS_DEFAULTS,
      });
      expect(policy.principals).toEqual({ U0ALICE: { dryrun: 'alice', aws: 'alice@example.com' } });
    });

    it('takes operational settings and overrides one provider propagation window', () => {
      const policy = parse(
        yaml(
          'settings:',
          '  adminChannel: C0ADMIN',
          '  admins: {users: [U0SEC], usergroups: [S0SEC]}',
          '  alertAfter: 5',
          '  reconcileEvery: 30s',
          '  propagation: {gcp: 10m, dryrun: 0s}',
          '  auditRetention: 365d',
          'roles:',
          role(),
        ),
      );
      expect(policy.settings).toMatchObject({
        adminChannel: 'C0ADMIN',
        admins: { users: ['U0SEC'], usergroups: ['S0SEC'] },
        alertAfter: 5,
        reconcileEveryMs: 30_000,
        propagationMs: { dryrun: 0, aws: 60_000, gcp: 10 * 60_000, azure: 10 * 60_000 },
        auditRetentionMs: 365 * 24 * 3_600_000,
      });
    });

    it('takes the default propagation of each provider from the caller (the registry), the policy overriding it', () => {
      const text = yaml('settings:', '  propagation: {aws: 2m}', 'roles:', role());
      const policy = parsePolicy(text, SOURCE, PROVIDER_TARGET_SCHEMAS, {}, { dryrun: 5_000, aws: 1_000 });

      expect(policy.settings.propagationMs).toEqual({ dryrun: 5_000, aws: 2 * 60_000 });
      expect(parsePolicy(MINIMAL, SOURCE, PROVIDER_TARGET_SCHEMAS).settings.propagationMs).toEqual({});
    });

    it('takes settings.identity and refuses any value but email or principals', () => {
      expect(parse(yaml('settings:', '  identity: principals', 'roles:', role())).settings.identity).toBe('principals');
      expect(problemsOf(yaml('settings:', '  identity: slack', 'roles:', role()))).toEqual([
        expect.stringMatching(/^settings\.identity: must be email .* or principals/),
      ]);
    });

    it('refuses propagation for an unknown provider and an alertAfter of 0', () => {
      expect(problemsOf(yaml('settings: {alertAfter: 0}', 'roles:', role()))).toEqual([
        'settings.alertAfter: must be at least 1 failed attempt',
      ]);
      expect(problemsOf(yaml('settings: {propagation: {oracle: 1m}}', 'roles:', role()))).toEqual([
        'settings.propagation.oracle: "oracle" is not a known provider; use one of dryrun, aws, azure, gcp',
      ]);
    });

    it('lets an auto-approved role go without approval channel or approvers', () => {
      const policy = parse(yaml('roles:', role({ autoApprove: 'true', approvalChannel: '', approvers: '' })));
      expect(policy.roles[0]).toMatchObject({ autoApprove: true, approvers: { users: [], usergroups: [] } });
      expect(policy.roles[0]).not.toHaveProperty('approvalChannel');
    });

    it('accepts approvalsRequired above the listed users when a user group can supply the rest', () => {
      const policy = parse(
        yaml('roles:', role({ approvers: '{users: [U0LEAD], usergroups: [S0ONCALL]}', approvalsRequired: '3' })),
      );
      expect(policy.roles[0]?.approvalsRequired).toBe(3);
    });

    it('accepts a dry-run target with its known keys', () => {
      const policy = parse(yaml('roles:', role({ target: '{description: sandbox, failGrantWith: quota}' })));
      expect(policy.roles[0]?.target).toEqual({ description: 'sandbox', failGrantWith: 'quota' });
    });
  });

  describe('refusals, each with its path', () => {
    it('reports invalid YAML with its position', () => {
      const problems = problemsOf('roles: [a\nfoo: : :');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^is not valid YAML: .*at line 2, column 1/);
    });

    it('requires roles', () => {
      expect(problemsOf('settings: {}')).toEqual(['roles: Invalid input: expected array, received undefined']);
      expect(problemsOf('')).toEqual(['roles: Invalid input: expected array, received undefined']);
      expect(problemsOf('roles: []')).toEqual(['roles: must list at least one role']);
    });

    it('requires a mapping at the top level', () => {
      expect(problemsOf('hello')).toEqual(['(top level): Invalid input: expected object, received string']);
      expect(problemsOf('- a\n- b')).toEqual(['(top level): Invalid input: expected object, received array']);
    });

    it.each(['Sandbox', 'sandbox_admin', 'sandbox--admin', '-sandbox', 'sandbox-'])('refuses role id %j', (id) => {
      expect(problemsOf(yaml('roles:', role({ id })))).toEqual([
        'roles[0].id: must be lowercase letters, digits and single dashes, e.g. sandbox-admin',
      ]);
    });

    it('refuses a role id longer than 64 characters', () => {
      expect(problemsOf(yaml('roles:', role({ id: 'a'.repeat(65) })))).toEqual([
        'roles[0].id: must be at most 64 characters',
      ]);
    });

    it('refuses duplicate role ids, naming the first', () => {
      expect(problemsOf(yaml('roles:', role(), role({ description: 'other' }), role()))).toEqual([
        'roles[1].id: "sandbox-admin" is already used by roles[0]; role IDs must be unique',
        'roles[2].id: "sandbox-admin" is already used by roles[0]; role IDs must be unique',
      ]);
    });

    it('refuses duration text that does not parse', () => {
      expect(problemsOf(yaml('roles:', role({ maxDuration: '2x' })))).toEqual([
        'roles[0].maxDuration: "2x" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.',
      ]);
      expect(problemsOf(yaml('settings: {approvalTimeout: 0m}', 'roles:', role()))).toEqual([
        'settings.approvalTimeout: "0m" is zero; ask for a positive duration such as 30m.',
      ]);
    });

    it('refuses a bare number as a duration', () => {
      expect(problemsOf(yaml('roles:', role({ defaultDuration: '90' })))).toEqual([
        'roles[0].defaultDuration: must be a duration such as 30m, 2h or 1h30m',
      ]);
    });

    it('refuses a role maxDuration above settings.maxDuration', () => {
      expect(problemsOf(yaml('settings: {maxDuration: 4h}', 'roles:', role({ maxDuration: '12h' })))).toEqual([
        'roles[0].maxDuration: 12h exceeds settings.maxDuration 4h; lower it or raise the global limit',
      ]);
    });

    it('refuses a role maxDuration below settings.minDuration', () => {
      expect(problemsOf(yaml('settings: {minDuration: 10m}', 'roles:', role({ maxDuration: '5m' })))).toEqual([
        'roles[0].maxDuration: 5m is shorter than settings.minDuration 10m',
      ]);
    });

    it("refuses a role defaultDuration above the role's maxDuration", () => {
      expect(problemsOf(yaml('roles:', role({ maxDuration: '1h', defaultDuration: '2h' })))).toEqual([
        "roles[0].defaultDuration: 2h exceeds the role's maxDuration 1h",
      ]);
      expect(problemsOf(yaml('settings: {maxDuration: 1h}', 'roles:', role({ defaultDuration: '1h30m' })))).toEqual([
        "roles[0].defaultDuration: 1h30m exceeds the role's maxDuration 1h",
      ]);
    });

    it('refuses settings.minDuration above settings.maxDuration', () => {
      expect(
        problemsOf(
          yaml(
            'settings: {minDuration: 2h, maxDuration: 1h, defaultDuration: 2h}',
            'roles:',
            role({ maxDuration: '1h' }),
          ),
        ),
      ).toEqual([
        'settings.minDuration: 2h is longer than settings.maxDuration 1h',
        'settings.defaultDuration: 2h is longer than settings.maxDuration 1h',
        'roles[0].maxDuration: 1h is shorter than settings.minDuration 2h',
      ]);
    });

    it('refuses settings.defaultDuration below settings.minDuration', () => {
      expect(problemsOf(yaml('settings: {minDuration: 10m, defaultDuration: 5m}', 'roles:', role()))).toEqual([
        'settings.defaultDuration: 5m is shorter than settings.minDuration 10m',
      ]);
    });

    it('refuses a role defaultDuration below settings.minDuration', () => {
      expect(problemsOf(yaml('settings: {minDuration: 10m}', 'roles:', role({ defaultDuration: '5m' })))).toEqual([
        'roles[0].defaultDuration: 5m is shorter than settings.minDuration 10m, so requests without a duration would be refused',
      ]);
    });

    it('requires an approval channel unless the role is auto-approved', () => {
      expect(problemsOf(yaml('roles:', role({ approvalChannel: '' })))).toEqual([
        'roles[0].approvalChannel: is required unless autoApprove is true; approvers decide in that channel',
      ]);
    });

    it('requires approvers unless the role is auto-approved', () => {
      const expected = ['roles[0].approvers: name at least one user or user group, or set autoApprove: true'];
      expect(problemsOf(yaml('roles:', role({ approvers: '' })))).toEqual(expected);
      expect(problemsOf(yaml('roles:', role({ approvers: '{users: [], usergroups: []}' })))).toEqual(expected);
    });

    it('refuses approvalsRequired that the listed users can never reach', () => {
      expect(problemsOf(yaml('roles:', role({ approvers: '{users: [U0A, U0B]}', approvalsRequired: '3' })))).toEqual([
        'roles[0].approvalsRequired: 3 distinct approvals can never be reached with 2 approver(s) listed',
      ]);
      // The same person twice counts once.
      expect(problemsOf(yaml('roles:', role({ approvers: '{users: [U0A, U0A]}', approvalsRequired: '2' })))).toEqual([
        'roles[0].approvalsRequired: 2 distinct approvals can never be reached with 1 approver(s) listed',
      ]);
    });

    it('refuses approvalsRequired below 1 or fractional', () => {
      expect(problemsOf(yaml('roles:', role({ approvalsRequired: '0' })))).toEqual([
        'roles[0].approvalsRequired: must be at least 1',
      ]);
      expect(problemsOf(yaml('roles:', role({ approvalsRequired: '1.5' })))).toEqual([
        'roles[0].approvalsRequired: Invalid input: expected int, received number',
      ]);
    });

    it('refuses an unknown provider, naming the known ones', () => {
      expect(problemsOf(yaml('roles:', role({ provider: 'gcpp' })))).toEqual([
        'roles[0].provider: "gcpp" is not a known provider; use one of dryrun, aws, azure, gcp',
      ]);
    });

    it('refuses malformed Slack channel, user and user group IDs', () => {
      expect(
        problemsOf(
          yaml(
            'settings: {auditChannel: general}',
            'roles:',
            role({
              approvalChannel: 'D0DIRECT',
              approvers: '{users: [alice], usergroups: [G0GROUP]}',
              requesters: '{users: [U0OK, u0lower]}',
            }),
          ),
        ),
      ).toEqual([
        'settings.auditChannel: must be a Slack channel ID such as C0123ABCD (channel details → About)',
        'roles[0].approvalChannel: must be a Slack channel ID such as C0123ABCD (channel details → About)',
        'roles[0].approvers.users[0]: must be a Slack user ID such as U0123ABCD (profile → ⋮ → Copy member ID)',
        'roles[0].approvers.usergroups[0]: must be a Slack user group ID such as S0123ABCD',
        'roles[0].requesters.users[1]: must be a Slack user ID such as U0123ABCD (profile → ⋮ → Copy member ID)',
      ]);
    });

    it('refuses a principal keyed by something other than a user ID', () => {
      expect(problemsOf(yaml('roles:', role(), 'principals: {alice: {dryrun: alice}}'))).toEqual([
        'principals.alice: must be keyed by a Slack user ID such as U0123ABCD (profile → ⋮ → Copy member ID)',
      ]);
    });

    it('refuses unknown keys at every level', () => {
      expect(
        problemsOf(
          yaml(
            'colour: red',
            'settings: {maxDur: 1h}',
            'roles:',
            role({ approver: '[U0LEAD]', approvers: '{users: [U0LEAD], groups: [S0X]}' }),
          ),
        ),
      ).toEqual([
        'settings: Unrecognized key: "maxDur"',
        'roles[0].approvers: Unrecognized key: "groups"',
        'roles[0]: Unrecognized key: "approver"',
        '(top level): Unrecognized key: "colour"',
      ]);
    });

    it('refuses a dry-run target with an unknown or empty key', () => {
      expect(problemsOf(yaml('roles:', role({ target: '{account: "123", failGrantWith: ""}' })))).toEqual([
        'roles[0].target.failGrantWith: Too small: expected string to have >=1 characters',
        'roles[0].target: Unrecognized key: "account"',
      ]);
    });

    it('reports every schema problem at once, across roles and settings', () => {
      expect(
        problemsOf(
          yaml(
            'settings: {maxDuration: forever}',
            'roles:',
            role({ id: 'Bad_Id' }),
            role({ id: 'ok', approvalChannel: 'nope', approvalsRequired: '0' }),
            role({ id: 'ok2', description: '"   "', extra: 'x' }),
          ),
        ),
      ).toEqual([
        'settings.maxDuration: "forever" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.',
        'roles[0].id: must be lowercase letters, digits and single dashes, e.g. sandbox-admin',
        'roles[1].approvalChannel: must be a Slack channel ID such as C0123ABCD (channel details → About)',
        'roles[1].approvalsRequired: must be at least 1',
        'roles[2].description: must say what the role gives, in a few words',
        'roles[2]: Unrecognized key: "extra"',
      ]);
    });

    it('reports every cross-field problem at once', () => {
      expect(
        problemsOf(
          yaml(
            'settings: {maxDuration: 4h}',
            'roles:',
            role({ maxDuration: '8h', approvalChannel: '', approvers: '' }),
            role({ provider: 'nope', defaultDuration: '5h', approvers: '{users: [U0A]}', approvalsRequired: '2' }),
          ),
        ),
      ).toEqual([
        'roles[0].maxDuration: 8h exceeds settings.maxDuration 4h; lower it or raise the global limit',
        'roles[0].approvalChannel: is required unless autoApprove is true; approvers decide in that channel',
        'roles[0].approvers: name at least one user or user group, or set autoApprove: true',
        'roles[1].id: "sandbox-admin" is already used by roles[0]; role IDs must be unique',
        "roles[1].defaultDuration: 5h exceeds the role's maxDuration 4h",
        'roles[1].approvalsRequired: 2 distinct approvals can never be reached with 1 approver(s) listed',
        'roles[1].provider: "nope" is not a known provider; use one of dryrun, aws, azure, gcp',
      ]);
    });

    it('puts the source and the count in the error message', () => {
      let error: unknown;
      try {
        parse(yaml('roles:', role({ id: 'X' }), role({ id: 'Y' })));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        [
          'policy.yml has 2 problem(s):',
          '  - roles[0].id: must be lowercase letters, digits and single dashes, e.g. sandbox-admin',
          '  - roles[1].id: must be lowercase letters, digits and single dashes, e.g. sandbox-admin',
        ].join('\n'),
      );
    });
  });

  describe('properties', () => {
    // The YAML library reports odd-but-valid input (collection keys) as process warnings; keep the output clean.
    let emitWarning: jest.SpyInstance;
    beforeEach(() => {
      emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    });
    afterEach(() => emitWarning.mockRestore());

    const assertOnlyConfigErrors = (text: string) => {
      try {
        parse(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems.length).toBeGreaterThan(0);
      }
    };

    it('throws nothing but ConfigError for arbitrary text', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 200 })), assertOnlyConfigErrors),
        { numRuns: 300 },
      );
    });

    it('throws nothing but ConfigError for YAML-shaped text', () => {
      const fragment = fc.constantFrom(
        'roles:',
        'settings:',
        'principals:',
        '  - ',
        '- ',
        'id: ',
        'description: ',
        'provider: dryrun',
        'provider: ',
        'maxDuration: ',
        'defaultDuration: ',
        'approvalsRequired: ',
        'approvers: ',
        'users: ',
        'usergroups: ',
        'target: ',
        'autoApprove: true',
        '__proto__: ',
        'constructor: ',
        '&a ',
        '*a',
        '!!binary ',
        '!!set ',
        '!!omap ',
        '? ',
        ': ',
        '{',
        '}',
        '[',
        ']',
        ', ',
        '"',
        "'",
        '#',
        '\n',
        '\n  ',
        '\n    ',
        '2h',
        '1d',
        '0m',
        '-1',
        '1e309',
        'null',
        '~',
        'U0LEAD',
        'C0APP',
        'S0GRP',
        'sandbox-admin',
      );
      fc.assert(
        fc.property(
          fc.array(fc.oneof(fragment, fc.string({ maxLength: 4 })), { maxLength: 40 }).map((parts) => parts.join('')),
          assertOnlyConfigErrors,
        ),
        { numRuns: 600 },
      );
    });
  });
});
