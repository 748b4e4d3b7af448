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
  /** `high` for roles that can change IAM itself: two approvals and a shorter maximum by default. */
  risk: 'low' | 'high';
  /** When set, the reason must contain a match (a ticket reference such as INC-42). */
  ticketPattern?: string;
  /** Requests that match this rule are approved at once; the others wait for approvers as usual. */
  autoApproveWhen?: AutoApproveRule;
  /** Emergency access: approved at once, the admin channel is paged, and an admin must review it afterwards. */
  breakGlass: boolean;
  /** The requester may extend an active grant (within `maxDurationMs` in total) without a new approval. */
  selfExtend: boolean;
  /** Who else may decide a request nobody decided within `afterMs` (less than the approval timeout). */
  escalation?: Escalation;
  /** How far ahead a request may schedule its start. */
  maxLeadTimeMs: number;
}

/** A role's escalation: after `afterMs` undecided, the `to` people are asked too and may decide from then on. */
export interface Escalation {
  afterMs: number;
  to: PeopleSelector;
}

/** When a request needs no approver: who asks, and when (in a time zone). */
export interface AutoApproveRule {
  /** Both lists empty means anyone who may request the role. */
  people: PeopleSelector;
  /** Minutes after midnight, `from` inclusive, `to` exclusive; absent means any time of day. */
  hours?: { from: number; to: number };
  /** Days of the week, 0 = Sunday; absent means every day. */
  days?: readonly number[];
  /** IANA time zone the hours and days are read in. */
  timeZone: string;
}

export interface PolicySettings {
  defaultDurationMs: number;
  minDurationMs: number;
  maxDurationMs: number;
  approvalTimeoutMs: number;
  auditChannel?: string;
  /** Where operators are alerted (failing revocations, drift, access that outlived its revocation). */
  adminChannel?: string;
  /** Who may use the operator commands (`/jit audit`) and the alerts' buttons. */
  admins: PeopleSelector;
  /** Failed revocation attempts before the admin channel is alerted. */
  alertAfter: number;
  /** How often the reconciler sweeps the store and the clouds. */
  reconcileEveryMs: number;
  /** How long after a revocation each provider is read back, once its changes have propagated. */
  propagationMs: Readonly<Record<string, number>>;
  /** How long audit entries are kept. */
  auditRetentionMs: number;
  /** Slack workspace (`T…`) and Enterprise Grid organisation (`E…`) IDs the bot serves; empty means any. */
  allowedTeams: readonly string[];
  /** Pending, approved and active requests one person may have at once. */
  maxOpenRequestsPerPerson: number;
  /**
   * How long before a grant expires its holder gets a reminder (with Extend and I'm done), and how long before a
   * request times out its approvers are reminded in the thread.
   */
  reminderBeforeMs: number;
  /**
   * How a person is named in a cloud when `principals` does not map them: `email` lets their Slack profile email
   * do it once Slack has confirmed it; `principals` trusts only the map.
   */
  identity: 'email' | 'principals';
  /** How far ahead a request may schedule its start, unless its role says otherwise. */
  maxLeadTimeMs: number;
  /** Where every audit entry is also sent, as a signed CloudEvent; absent means nowhere. */
  auditWebhook?: AuditWebhookSettings;
  /** How fast the bot calls each cloud API, across all its processes (`settings.cloudRates`, defaults filled in). */
  cloudRates: Readonly<Record<CloudApi, CloudRate>>;
}

/** The cloud APIs whose calls the bot paces, each as the bot's identity there (see `settings.cloudRates`). */
export const CLOUD_APIS = ['aws-iam', 'aws-identity-center', 'azure-arm', 'gcp-resource-manager'] as const;
export type CloudApi = (typeof CLOUD_APIS)[number];

/** A steady rate and a burst; the shape of the `CallRate` port, restated here since ports.ts imports this file. */
export interface CloudRate {
  perSecond: number;
  burst: number;
}

/** The audit webhook: the receiver's URL and the environment variable holding the signing secret. */
export interface AuditWebhookSettings {
  url: string;
  /** The name of the environment variable with the HMAC secret; the secret itself is never in the policy. */
  secretEnv: string;
  /** How long one POST may take before it counts as failed and is retried. */
  timeoutMs: number;
}

/** Cloud identities of one Slack user, by provider name (e.g. `{ aws: 'alice' }`). */
export type PrincipalIdentities = Readonly<Record<string, string>>;

export interface Policy {
  settings: PolicySettings;
  roles: readonly Role[];
  principals: Readonly<Record<string, PrincipalIdentities>>;
  /** Things the loader accepted but an operator should look at (logged at start). */
  warnings: readonly string[];
}

export function findRole(policy: Policy, roleId: string): Role | undefined {
  return policy.roles.find((role) => role.id === roleId);
}

/** True when the selector names nobody, which for requesters means "anyone". */
export function isOpenSelector(selector: PeopleSelector): boolean {
  return selector.users.length === 0 && selector.usergroups.length === 0;
}
