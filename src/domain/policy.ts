/** Who is named by a rule: Slack user IDs and Slack user group IDs. Empty means nobody (or, for requesters, anyone). */
export interface PeopleSelector {
  users: readonly string[];
  usergroups: readonly string[];
}

/** A role people can ask for, as the policy file defines it (durations already in milliseconds). */
export interface Role {
  id: string;
  description: string;
  /** Name of the cloud provider that makes grants for this role (`dryrun`, later `aws`, `azure`, `gcp`). */
  provider: string;
  /** Provider-specific description of what is granted; validated by the provider's own schema. */
  target: Readonly<Record<string, unknown>>;
  maxDurationMs: number;
  defaultDurationMs: number;
  approvalTimeoutMs: number;
  /** Channel for the approval message and lifecycle notices; optional only for auto-approved roles. */
  approvalChannel?: string;
  approvers: PeopleSelector;
  approvalsRequired: number;
  autoApprove: boolean;
  /** Who may request the role; both lists empty means anyone in the workspace. */
  requesters: PeopleSelector;
}

export interface PolicySettings {
  defaultDurationMs: number;
  minDurationMs: number;
  maxDurationMs: number;
  approvalTimeoutMs: number;
  auditChannel?: string;
}

/** Cloud identities of one Slack user, by provider name (e.g. `{ aws: 'alice' }`). */
export type PrincipalIdentities = Readonly<Record<string, string>>;

export interface Policy {
  settings: PolicySettings;
  roles: readonly Role[];
  principals: Readonly<Record<string, PrincipalIdentities>>;
}

export function findRole(policy: Policy, roleId: string): Role | undefined {
  return policy.roles.find((role) => role.id === roleId);
}

/** True when the selector names nobody, which for requesters means "anyone". */
export function isOpenSelector(selector: PeopleSelector): boolean {
  return selector.users.length === 0 && selector.usergroups.length === 0;
}
