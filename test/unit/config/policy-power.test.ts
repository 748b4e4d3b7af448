import { ConfigError } from '../../../src/config/config-error';
import { DEFAULT_TICKET_PATTERN, parsePolicy } from '../../../src/config/policy-schema';
import { PROVIDER_IAM_POWER, PROVIDER_TARGET_SCHEMAS } from '../../../src/providers/registry';

const H = 3_600_000;
const parse = (text: string) => parsePolicy(text, 'test policy', PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER);

/** One role under `roles:`, its extra lines indented as YAML needs. */
function policyWith(...roleLines: string[]): string {
  return [
    'roles:',
    '  - id: the-role',
    '    description: A role',
    '    approvalChannel: C0APPROVALS',
    '    approvers: {users: [U0LEAD, U0SEC]}',
    ...roleLines.map((line) => `    ${line}`),
  ].join('\n');
}

describe('policy power', () => {
  it.each([
    [
      'an AWS policy allowing iam:*',
      ['provider: aws', 'target: {kind: iam-policy, statements: [{Effect: Allow, Action: ["iam:*"], Resource: "*"}]}'],
      'its statements allow iam:*',
    ],
    [
      'an AWS policy allowing iam:PassRole',
      [
        'provider: aws',
        'target: {kind: iam-policy, statements: [{Effect: Allow, Action: "iam:PassRole", Resource: "*"}]}',
      ],
      'its statements allow iam:PassRole',
    ],
    [
      'the Azure Owner role',
      [
        'provider: azure',
        'target: {kind: role-assignment, scope: /subscriptions/00000000-1111-2222-3333-444444444444, roleDefinitionId: 8e3af657-a8ff-443c-a75c-2fe8c4bcd635}',
      ],
      'the Owner role can assign roles',
    ],
    [
      'GCP projectIamAdmin',
      ['provider: gcp', 'target: {resource: projects/payments-prod, role: roles/resourcemanager.projectIamAdmin}'],
      'roles/resourcemanager.projectIamAdmin can change IAM',
    ],
  ])('treats %s as high risk: two approvals, a one-hour maximum, and a warning', (_name, lines, why) => {
    const policy = parse(policyWith(...lines));
    expect(policy.roles[0]).toMatchObject({ risk: 'high', approvalsRequired: 2, maxDurationMs: H });
    expect(policy.warnings).toEqual([
      `roles[0] (the-role) can change IAM itself (${why}); it is treated as risk: high`,
    ]);
  });

  it('keeps ordinary roles low risk with one approval and the global maximum', () => {
    const policy = parse(
      policyWith(
        'provider: aws',
        'target: {kind: iam-policy, statements: [{Effect: Allow, Action: "logs:Get*", Resource: "*"}]}',
      ),
    );
    expect(policy.roles[0]).toMatchObject({ risk: 'low', approvalsRequired: 1, maxDurationMs: 8 * H });
    expect(policy.warnings).toEqual([]);
  });

  it('lets a policy declare risk and its own limits, and warns where that weakens an IAM-changing role', () => {
    const declaredHigh = parse(policyWith('provider: dryrun', 'risk: high', 'maxDuration: 30m'));
    expect(declaredHigh.roles[0]).toMatchObject({ risk: 'high', approvalsRequired: 2, maxDurationMs: H / 2 });
    const weakened = parse(
      policyWith(
        'provider: gcp',
        'target: {resource: projects/payments-prod, role: roles/iam.securityAdmin}',
        'risk: low',
      ),
    );
    expect(weakened.roles[0]).toMatchObject({ risk: 'low', approvalsRequired: 1 });
    expect(weakened.warnings).toEqual([
      'roles[0] (the-role) is declared risk: low although it can change IAM itself (roles/iam.securityAdmin can change IAM)',
    ]);
    const single = parse(policyWith('provider: dryrun', 'risk: high', 'approvalsRequired: 1'));
    expect(single.warnings).toEqual(['roles[0] (the-role) is high risk but needs only 1 approval']);
  });

  it('refuses a high-risk default of two approvals that the listed approvers cannot reach', () => {
    const text = policyWith('provider: dryrun', 'risk: high').replace('{users: [U0LEAD, U0SEC]}', '{users: [U0LEAD]}');
    expect(() => parse(text)).toThrow(ConfigError);
    try {
      parse(text);
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'roles[0].approvalsRequired: 2 distinct approvals (the default for a high-risk role) can never be reached with 1 approver(s) listed',
      ]);
    }
  });

  it('requires a ticket with the default or a given pattern, and refuses a pattern that is not a regex', () => {
    expect(parse(policyWith('provider: dryrun', 'requireTicket: true')).roles[0]?.ticketPattern).toBe(
      DEFAULT_TICKET_PATTERN,
    );
    expect(parse(policyWith('provider: dryrun', 'ticketPattern: "JIRA-[0-9]+"')).roles[0]?.ticketPattern).toBe(
      'JIRA-[0-9]+',
    );
    expect(parse(policyWith('provider: dryrun')).roles[0]).not.toHaveProperty('ticketPattern');
    try {
      parse(policyWith('provider: dryrun', 'ticketPattern: "INC-[0-9"'));
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'roles[0].ticketPattern: must be a valid regular expression, e.g. "[A-Z][A-Z0-9]+-[0-9]+"',
      ]);
    }
  });
});

describe('auto-approve rules and break-glass in the policy', () => {
  it('parses a rule with hours, days and a time zone', () => {
    const policy = parse(
      policyWith(
        'provider: dryrun',
        'autoApproveWhen: {usergroups: [S0ONCALL], hours: "09:00-17:30", days: [mon, fri], timeZone: Europe/Paris}',
      ),
    );
    expect(policy.roles[0]?.autoApproveWhen).toEqual({
      people: { users: [], usergroups: ['S0ONCALL'] },
      hours: { from: 9 * 60, to: 17 * 60 + 30 },
      days: [1, 5],
      timeZone: 'Europe/Paris',
    });
  });

  it('refuses malformed hours, days and time zones, each with its path', () => {
    try {
      parse(
        policyWith('provider: dryrun', 'autoApproveWhen: {hours: "9-17", days: [someday], timeZone: Mars/Olympus}'),
      );
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'roles[0].autoApproveWhen.hours: must be a window such as 09:00-17:00 (24-hour clock)',
        'roles[0].autoApproveWhen.days[0]: must be one of sun, mon, tue, wed, thu, fri, sat',
        'roles[0].autoApproveWhen.timeZone: must be an IANA time zone such as Europe/Paris or UTC',
      ]);
    }
  });

  it('needs an admin channel for break-glass roles', () => {
    try {
      parse(policyWith('provider: dryrun', 'breakGlass: true'));
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'roles[0].breakGlass: break-glass roles page the admin channel; set settings.adminChannel',
      ]);
    }
    const policy = parse(`settings: {adminChannel: C0ADMIN}\n${policyWith('provider: dryrun', 'breakGlass: true')}`);
    expect(policy.roles[0]).toMatchObject({ breakGlass: true });
  });
});
