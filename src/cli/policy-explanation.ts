/** What a validated policy means for one Slack user, role by role: the data behind `jit-access-bot explain`. */
import type { IamPowerDetectors } from '../config/policy-schema';
import { isOpenSelector, type PeopleSelector, type Policy, type Role } from '../domain/policy';
import { type GrantDescriber, type GrantDescription, policyPrincipal } from '../providers/grant-description';

/**
 * Whether a selector names the user. Group membership lives in Slack, which this tool does not ask: without
 * stated memberships a group can only make the answer `if-member`; with them, they are taken as the whole list.
 */
export interface Selection {
  answer: 'yes' | 'no' | 'if-member';
  /** What decides it: nobody is named (so anyone), the user is named, or one of the user groups. */
  via?: 'anyone' | 'users' | 'usergroups';
  /** The user groups that made it `yes`, or any of which would (`if-member`). */
  usergroups: string[];
}

export interface ApprovalExplanation {
  /** `break-glass` and `auto` are approved at once; `approvers` waits for the approvers (or `autoApproveWhen`). */
  mode: 'break-glass' | 'auto' | 'approvers';
  approvers: PeopleSelector;
  approvalsRequired: number;
  approvalChannel?: string;
  approvalTimeoutMs: number;
  /** Whether the user is one of the approvers (who never approve their own requests). */
  userApproves: Selection;
}

export interface AutoApproveExplanation {
  users: readonly string[];
  usergroups: readonly string[];
  /** `09:00-17:00`; absent means any time of day. */
  hours?: string;
  /** `mon`…`sun`; absent means every day. */
  days?: string[];
  timeZone: string;
  /** Whether the rule's people include the user (the hours and days still apply). */
  forUser: Selection;
}

export interface RoleExplanation {
  id: string;
  description: string;
  provider: string;
  /** Who may request it; both lists empty means anyone. */
  requesters: PeopleSelector;
  request: Selection;
  approval: ApprovalExplanation;
  autoApproveWhen?: AutoApproveExplanation;
  maxDurationMs: number;
  defaultDurationMs: number;
  /** `iamPower` says why the target can change IAM itself, as the loader detected it. */
  risk: { level: Role['risk']; iamPower?: string };
  breakGlass: boolean;
  selfExtend: boolean;
  /** The pattern the reason must match; absent when no ticket is required. */
  ticketPattern?: string;
  grant: GrantDescription;
}

export interface PolicyExplanation {
  user: string;
  /** The user groups the caller said the user belongs to; undefined when none were stated. */
  memberOf?: string[];
  identity: Policy['settings']['identity'];
  minDurationMs: number;
  roles: RoleExplanation[];
}

/** What the explanation needs from the providers, by provider name. */
export interface ProviderKnowledge {
  describers: Readonly<Record<string, GrantDescriber>>;
  iamPower: IamPowerDetectors;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * Explains each role (or only `roleId`) for `userId`.
 * @throws Error when a role's provider has no describer, which means the registry is incomplete
 */
export function explainPolicy(
  policy: Policy,
  question: { userId: string; memberOf?: readonly string[]; roleId?: string },
  providers: ProviderKnowledge,
): PolicyExplanation {
  const { userId, memberOf } = question;
  const roles = policy.roles.filter((role) => question.roleId === undefined || role.id === question.roleId);
  return {
    user: userId,
    ...(memberOf !== undefined && { memberOf: [...memberOf] }),
    identity: policy.settings.identity,
    minDurationMs: policy.settings.minDurationMs,
    roles: roles.map((role) => explainRole(policy, role, userId, memberOf, providers)),
  };
}

function explainRole(
  policy: Policy,
  role: Role,
  userId: string,
  memberOf: readonly string[] | undefined,
  providers: ProviderKnowledge,
): RoleExplanation {
  const describe = providers.describers[role.provider];
  if (describe === undefined) throw new Error(`no grant describer for provider "${role.provider}"`);
  const principal = policyPrincipal(userId, role.provider, policy.principals[userId], policy.settings);
  const iamPower = providers.iamPower[role.provider]?.(role.target);
  const rule = role.autoApproveWhen;
  return {
    id: role.id,
    description: role.description,
    provider: role.provider,
    requesters: role.requesters,
    request: select(role.requesters, userId, memberOf, true),
    approval: {
      mode: role.breakGlass ? 'break-glass' : role.autoApprove ? 'auto' : 'approvers',
      approvers: role.approvers,
      approvalsRequired: role.approvalsRequired,
      ...(role.approvalChannel !== undefined && { approvalChannel: role.approvalChannel }),
      approvalTimeoutMs: role.approvalTimeoutMs,
      userApproves: select(role.approvers, userId, memberOf, false),
    },
    ...(rule !== undefined && {
      autoApproveWhen: {
        users: rule.people.users,
        usergroups: rule.people.usergroups,
        ...(rule.hours !== undefined && { hours: `${clock(rule.hours.from)}-${clock(rule.hours.to)}` }),
        ...(rule.days !== undefined && { days: rule.days.map((day) => DAY_NAMES[day] ?? String(day)) }),
        timeZone: rule.timeZone,
        forUser: select(rule.people, userId, memberOf, true),
      },
    }),
    maxDurationMs: role.maxDurationMs,
    defaultDurationMs: role.defaultDurationMs,
    risk: { level: role.risk, ...(iamPower !== undefined && { iamPower }) },
    breakGlass: role.breakGlass,
    selfExtend: role.selfExtend,
    ...(role.ticketPattern !== undefined && { ticketPattern: role.ticketPattern }),
    grant: describe(role.target, principal),
  };
}

/** As `isSelected` in the domain, with Slack's group lookup replaced by the stated memberships, if any. */
function select(
  selector: PeopleSelector,
  userId: string,
  memberOf: readonly string[] | undefined,
  openMeansAnyone: boolean,
): Selection {
  if (openMeansAnyone && isOpenSelector(selector)) return { answer: 'yes', via: 'anyone', usergroups: [] };
  if (selector.users.includes(userId)) return { answer: 'yes', via: 'users', usergroups: [] };
  if (selector.usergroups.length === 0) return { answer: 'no', usergroups: [] };
  if (memberOf === undefined) return { answer: 'if-member', via: 'usergroups', usergroups: [...selector.usergroups] };
  const matched = selector.usergroups.filter((group) => memberOf.includes(group));
  return matched.length > 0
    ? { answer: 'yes', via: 'usergroups', usergroups: matched }
    : { answer: 'no', usergroups: [] };
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
