import { explainPolicy, type PolicyExplanation, type RoleExplanation } from '../../../src/cli/policy-explanation';
import { parsePolicy } from '../../../src/config/policy-schema';
import {
  PROVIDER_GRANT_DESCRIBERS,
  PROVIDER_IAM_POWER,
  PROVIDER_TARGET_SCHEMAS,
} from '../../../src/providers/registry';
import { HOUR, MINUTE } from '../fixtures';

const PROVIDERS = { describers: PROVIDER_GRANT_DESCRIBERS, iamPower: PROVIDER_IAM_POWER };
const ENTRA_ID = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
const PERMISSION_SET = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef';
const SUBSCRIPTION = '/subscriptions/00000000-1111-2222-3333-444444444444';

/** Every kind of role the providers offer, and the ways a role can be gated. */
function policyText(identity: 'email' | 'principals' = 'email'): string {
  return `
settings:
  identity: ${identity}
  adminChannel: C0ADMIN
roles:
  - id: sandbox
    description: Sandbox admin
    provider: dryrun
    target: { description: sandbox account }
    approvalChannel: C0APPROVALS
    approvers: { users: [U0LEAD], usergroups: [S0ONCALL] }
    requesters: { users: [U0ALICE], usergroups: [S0DEVS, S0OPS] }
    autoApproveWhen: { usergroups: [S0ONCALL], hours: "22:00-06:30", days: [sat, sun], timeZone: Europe/Paris }
  - id: iam-admin
    description: IAM admin
    provider: aws
    target:
      kind: iam-policy
      statements: [{ Effect: Allow, Action: ["s3:GetObject", "iam:PassRole"], Resource: "*" }]
    approvalChannel: C0APPROVALS
    approvers: { users: [U0LEAD, U0SEC] }
    requireTicket: true
    selfExtend: true
  - id: assume
    description: Assume the deploy role
    provider: aws
    target: { kind: assume-role, roleArn: "arn:aws:iam::123456789012:role/ops/Deploy" }
    autoApprove: true
    risk: high
  - id: sso
    description: Identity Center read-only
    provider: aws
    target: { kind: identity-center, instanceArn: "${INSTANCE}", accountId: "123456789012", permissionSetArn: "${PERMISSION_SET}" }
    breakGlass: true
  - id: azure-rbac
    description: Azure owner
    provider: azure
    target: { kind: role-assignment, scope: "${SUBSCRIPTION}", roleDefinitionId: 8e3af657-a8ff-443c-a75c-2fe8c4bcd635 }
    approvalChannel: C0APPROVALS
    approvers: { usergroups: [S0SEC] }
    risk: low
    ticketPattern: "CHG[0-9]+"
  - id: azure-pim
    description: Reader via PIM
    provider: azure
    target: { kind: pim, scope: "${SUBSCRIPTION}/resourceGroups/payments", roleDefinitionId: acdd72a7-3385-48ef-bd42-f606fba81ae7 }
    autoApprove: true
  - id: gcp-sql
    description: Cloud SQL viewer
    provider: gcp
    target: { resource: projects/payments-prod, role: roles/cloudsql.viewer }
    autoApprove: true
principals:
  U0ALICE: { aws: alice, azure: ${ENTRA_ID}, gcp: "group:sre@corp.example", dryrun: alice }
  U0BOB: { email: bob@corp.example }
  U0CAROL: { azure: carol, gcp: "carol:corp" }
`;
}

function explain(
  question: { userId: string; memberOf?: string[]; roleId?: string },
  identity?: 'email' | 'principals',
): PolicyExplanation {
  const policy = parsePolicy(policyText(identity), 'test policy', PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER);
  return explainPolicy(policy, question, PROVIDERS);
}

function role(explanation: PolicyExplanation, id: string): RoleExplanation {
  const found = explanation.roles.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no role ${id} in the explanation`);
  return found;
}

describe('explainPolicy: who may request', () => {
  it('says yes for a user named in requesters.users, and for anyone when the role names no requesters', () => {
    const alice = explain({ userId: 'U0ALICE' });
    expect(role(alice, 'sandbox').request).toEqual({ answer: 'yes', via: 'users', usergroups: [] });
    expect(role(alice, 'gcp-sql').request).toEqual({ answer: 'yes', via: 'anyone', usergroups: [] });
  });

  it('answers "if a member" with the groups when memberships are not stated, since they live in Slack', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(role(bob, 'sandbox').request).toEqual({
      answer: 'if-member',
      via: 'usergroups',
      usergroups: ['S0DEVS', 'S0OPS'],
    });
  });

  it('takes stated memberships as the whole list: a match is yes, no match is no', () => {
    expect(role(explain({ userId: 'U0BOB', memberOf: ['S0X', 'S0OPS'] }), 'sandbox').request).toEqual({
      answer: 'yes',
      via: 'usergroups',
      usergroups: ['S0OPS'],
    });
    expect(role(explain({ userId: 'U0BOB', memberOf: ['S0X'] }), 'sandbox').request).toEqual({
      answer: 'no',
      usergroups: [],
    });
    expect(role(explain({ userId: 'U0BOB', memberOf: [] }), 'sandbox').request.answer).toBe('no');
  });

  it('tells whether the user approves, where an empty approver list never means anyone', () => {
    expect(role(explain({ userId: 'U0LEAD' }), 'sandbox').approval.userApproves).toEqual({
      answer: 'yes',
      via: 'users',
      usergroups: [],
    });
    expect(role(explain({ userId: 'U0BOB' }), 'sandbox').approval.userApproves.answer).toBe('if-member');
    expect(role(explain({ userId: 'U0BOB' }), 'gcp-sql').approval.userApproves).toEqual({
      answer: 'no',
      usergroups: [],
    });
  });
});

describe('explainPolicy: approval and limits', () => {
  it('gives the approval mode, approvers, count, channel and timeout', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(role(bob, 'iam-admin').approval).toMatchObject({
      mode: 'approvers',
      approvers: { users: ['U0LEAD', 'U0SEC'], usergroups: [] },
      approvalsRequired: 2,
      approvalChannel: 'C0APPROVALS',
      approvalTimeoutMs: 30 * MINUTE,
    });
    expect(role(bob, 'assume').approval.mode).toBe('auto');
    expect(role(bob, 'sso').approval.mode).toBe('break-glass');
    expect(role(bob, 'sso').breakGlass).toBe(true);
  });

  it('writes the auto-approve rule as the policy did, with whether it covers the user', () => {
    expect(role(explain({ userId: 'U0BOB', memberOf: ['S0ONCALL'] }), 'sandbox').autoApproveWhen).toEqual({
      users: [],
      usergroups: ['S0ONCALL'],
      hours: '22:00-06:30',
      days: ['sat', 'sun'],
      timeZone: 'Europe/Paris',
      forUser: { answer: 'yes', via: 'usergroups', usergroups: ['S0ONCALL'] },
    });
    expect(role(explain({ userId: 'U0BOB' }), 'iam-admin').autoApproveWhen).toBeUndefined();
  });

  it('gives the durations after the risk-dependent defaults, and the minimum', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(bob.minDurationMs).toBe(MINUTE);
    expect(role(bob, 'iam-admin')).toMatchObject({ maxDurationMs: HOUR, defaultDurationMs: HOUR });
    expect(role(bob, 'gcp-sql')).toMatchObject({ maxDurationMs: 8 * HOUR, defaultDurationMs: HOUR });
  });

  it('says why a role is high risk when the loader detected IAM power, also when declared low', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(role(bob, 'iam-admin').risk).toEqual({ level: 'high', iamPower: 'its statements allow iam:PassRole' });
    expect(role(bob, 'assume').risk).toEqual({ level: 'high' });
    expect(role(bob, 'azure-rbac').risk).toEqual({ level: 'low', iamPower: 'the Owner role can assign roles' });
    expect(role(bob, 'gcp-sql').risk).toEqual({ level: 'low' });
  });

  it('gives the ticket rule and self-extension', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(role(bob, 'iam-admin')).toMatchObject({ ticketPattern: '[A-Z][A-Z0-9]+-[0-9]+', selfExtend: true });
    expect(role(bob, 'azure-rbac').ticketPattern).toBe('CHG[0-9]+');
    expect(role(bob, 'gcp-sql').ticketPattern).toBeUndefined();
    expect(role(bob, 'gcp-sql').selfExtend).toBe(false);
  });

  it('explains only the role asked for', () => {
    expect(explain({ userId: 'U0BOB', roleId: 'gcp-sql' }).roles.map((r) => r.id)).toEqual(['gcp-sql']);
  });
});

describe('explainPolicy: what a grant creates, and as whom', () => {
  it('names the principals map entry of each provider', () => {
    const alice = explain({ userId: 'U0ALICE' });
    expect(role(alice, 'sandbox').grant).toEqual({
      artefact:
        'nothing in any cloud: a record jit-<requestId> in Redis of the grant to alice (sandbox account), deleted at expiry',
      grantee: 'alice (principals.U0ALICE.dryrun)',
    });
    expect(role(alice, 'iam-admin').grant).toEqual({
      artefact:
        "customer managed policy /jit/jit-<requestId> holding the role's 1 statement(s), attached to IAM user alice; AWS ends it at expiry (DateLessThan aws:CurrentTime)",
      grantee: 'IAM user alice (principals.U0ALICE.aws)',
    });
    expect(role(alice, 'assume').grant.artefact).toBe(
      'customer managed policy /jit/jit-<requestId> allowing sts:AssumeRole on arn:aws:iam::123456789012:role/ops/Deploy, attached to IAM user alice; AWS ends it at expiry (DateLessThan aws:CurrentTime)',
    );
    expect(role(alice, 'azure-rbac').grant).toEqual({
      artefact: `role assignment of role ${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcd635 (Owner) at ${SUBSCRIPTION} to Entra object ${ENTRA_ID}, named by a GUID derived from the request ID and described "jit <requestId> until <expiry>"; the bot removes it at expiry`,
      grantee: `Entra object ${ENTRA_ID} (principals.U0ALICE.azure)`,
    });
    expect(role(alice, 'gcp-sql').grant).toEqual({
      artefact:
        'conditional IAM binding of roles/cloudsql.viewer on projects/payments-prod for group:sre@corp.example, titled jit-<requestId> with the condition request.time < timestamp(<expiry>), so IAM ends it at expiry',
      grantee: 'group:sre@corp.example (principals.U0ALICE.gcp)',
    });
  });

  it('falls back to the principals email, then to the Slack email, as the grant does', () => {
    const bob = explain({ userId: 'U0BOB' });
    expect(role(bob, 'iam-admin').grant.grantee).toBe('IAM user bob@corp.example (principals.U0BOB.email)');
    expect(role(bob, 'sso').grant).toEqual({
      artefact: `account assignment of permission set ${PERMISSION_SET} in account 123456789012 (instance ${INSTANCE}) to the Identity Center user with email bob@corp.example; the bot removes it at expiry`,
      grantee: 'the Identity Center user with email bob@corp.example (principals.U0BOB.email)',
    });
    expect(role(bob, 'azure-pim').grant).toEqual({
      artefact: `PIM schedule on ${SUBSCRIPTION}/resourceGroups/payments: an active assignment of role ${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7 to the Entra user whose email or user principal name is bob@corp.example, with an expiration Azure enforces`,
      grantee:
        'the Entra user whose email or user principal name is bob@corp.example (principals.U0BOB.email), looked up in Microsoft Graph',
    });

    const dave = explain({ userId: 'U0DAVE' });
    expect(role(dave, 'gcp-sql').grant.grantee).toBe(
      'user:<their Slack profile email> (used once Slack has confirmed it)',
    );
    expect(role(dave, 'sandbox').grant.grantee).toBe('U0DAVE (their Slack user ID)');
    expect(dave.roles.every((r) => r.grant.refusal === undefined)).toBe(true);
  });

  it('with settings.identity: principals, refuses the unmapped and says which entry to add', () => {
    const dave = explain({ userId: 'U0DAVE' }, 'principals');
    expect(dave.identity).toBe('principals');
    expect(role(dave, 'iam-admin').grant).toMatchObject({
      grantee: 'nobody yet',
      refusal:
        'the policy names U0DAVE in aws only through principals (settings.identity: principals), and has no entry for them: add aws: <IAM user name> under principals.U0DAVE',
    });
    expect(role(dave, 'azure-pim').grant.refusal).toContain(
      'add azure: <their Entra object ID> under principals.U0DAVE',
    );
    expect(role(dave, 'gcp-sql').grant.refusal).toContain('add gcp: "user:<email>" under principals.U0DAVE');
    expect(role(dave, 'sso').grant.refusal).toContain(
      'add email: <their Identity Center email> under principals.U0DAVE',
    );
    // Mapped in aws but with no email: the Identity Center grant still needs one.
    expect(role(explain({ userId: 'U0ALICE' }, 'principals'), 'sso').grant.refusal).toContain('add email:');
    expect(role(explain({ userId: 'U0ALICE' }, 'principals'), 'iam-admin').grant.refusal).toBeUndefined();
  });

  it('flags principals entries the provider would refuse', () => {
    const carol = explain({ userId: 'U0CAROL' });
    expect(role(carol, 'azure-rbac').grant.refusal).toBe(
      "principals.U0CAROL.azure is carol, not an Entra object ID: set it to the GUID shown as Object ID on the user's page in Entra ID",
    );
    expect(role(carol, 'gcp-sql').grant.refusal).toBe(
      'principals.U0CAROL.gcp is "carol:corp", not a principal the bot grants to: write it as user:<email>, group:<email> or serviceAccount:<email>',
    );
  });
});
