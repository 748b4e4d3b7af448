/** The policy every integration test runs under: short durations, every kind of role. */
export const TEST_POLICY = `
settings:
  defaultDuration: 1h
  minDuration: 1s
  maxDuration: 8h
  approvalTimeout: 30m
roles:
  - id: sandbox-admin
    description: Admin on the sandbox account
    provider: dryrun
    maxDuration: 4h
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
      usergroups: [S0ONCALL]
  - id: prod-db-read
    description: Read-only production database
    provider: dryrun
    maxDuration: 2h
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD, U0SEC]
      usergroups: [S0ONCALL]
    approvalsRequired: 2
  - id: staging-deployer
    description: Deploy to staging
    provider: dryrun
    approvalChannel: C0APPROVALS
    autoApprove: true
  - id: quick-timeout
    description: A role whose requests time out fast
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvalTimeout: 2s
    approvers:
      users: [U0LEAD]
  - id: broken
    description: A role whose grants always fail
    provider: dryrun
    target:
      failGrantWith: the sandbox account is closed
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
  - id: restricted
    description: Only Bob may ask for this
    provider: dryrun
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD]
    requesters:
      users: [U0BOB]
`;

/** Members of the on-call user group. */
export const USERGROUPS = { S0ONCALL: ['U0CAROL', 'U0DAVE'] };
