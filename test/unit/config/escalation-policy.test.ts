import { ConfigError } from '../../../src/config/config-error';
import { parsePolicy } from '../../../src/config/policy-schema';
import { dryrunTargetSchema } from '../../../src/providers/dryrun/dryrun-provider';

const role = (extra: string) => `
settings:
  approvalTimeout: 30m
roles:
  - id: escalating
    description: Escalates
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
${extra}`;

const parse = (text: string) => parsePolicy(text, 'policy.yml', { dryrun: dryrunTargetSchema });

function problems(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the policy was accepted');
}

describe('escalateAfter and escalateTo', () => {
  it('become the role escalation, in milliseconds', () => {
    const policy = parse(role('    escalateAfter: 10m\n    escalateTo:\n      usergroups: [S0SECOPS]\n'));
    expect(policy.roles[0]?.escalation).toEqual({ afterMs: 600_000, to: { users: [], usergroups: ['S0SECOPS'] } });
  });

  it('must escalate before the approval timeout', () => {
    expect(problems(role('    escalateAfter: 30m\n    escalateTo:\n      users: [U0SEC]\n'))).toContain(
      'roles[0].escalateAfter: 30m is not shorter than the approval timeout 30m (settings.approvalTimeout)',
    );
  });

  it('go together and name someone', () => {
    expect(problems(role('    escalateTo:\n      users: [U0SEC]\n'))).toContain(
      'roles[0].escalateAfter: escalateTo needs escalateAfter',
    );
    expect(problems(role('    escalateAfter: 10m\n'))).toContain(
      'roles[0].escalateTo: name at least one user or user group',
    );
  });

  it('are refused on a role that never waits for approvers', () => {
    expect(
      problems(role('    autoApprove: true\n    escalateAfter: 10m\n    escalateTo:\n      users: [U0SEC]\n')),
    ).toContain('an auto-approved role never waits for approvers');
  });
});
