/** The plain-text form of `jit-access-bot explain`, for people reading a terminal or a CI log. */
import { formatDuration } from '../domain/duration';
import { isOpenSelector, type PeopleSelector } from '../domain/policy';
import type { PolicyExplanation, RoleExplanation, Selection } from './policy-explanation';

/** Width of the labels, so the values line up. */
const LABEL_WIDTH = 14;

export function formatExplanation(explanation: PolicyExplanation, policyFile: string): string {
  const groups =
    explanation.memberOf === undefined
      ? 'not stated; membership lives in Slack, which this tool does not ask (state it with --member-of)'
      : explanation.memberOf.length > 0
        ? `${explanation.memberOf.join(', ')} (as stated)`
        : 'none (as stated)';
  const header = `Slack user ${explanation.user}, policy ${policyFile}\nUser groups: ${groups}\n`;
  return [header, ...explanation.roles.map((role) => formatRole(role, explanation))].join('\n');
}

function formatRole(role: RoleExplanation, explanation: PolicyExplanation): string {
  const lines: [string, string][] = [
    ['may request', request(role)],
    ['approval', approval(role)],
  ];
  if (role.approval.mode === 'approvers') {
    lines.push(
      ['approvers', approvers(role)],
      ['approval wait', `${formatDuration(role.approval.approvalTimeoutMs)}, then the request times out`],
    );
  }
  if (role.autoApproveWhen !== undefined) {
    const rule = role.autoApproveWhen;
    const who = isOpenSelector(rule) ? 'anyone who may request it' : people(rule);
    const when = [
      rule.hours === undefined ? 'at any time of day' : `during ${rule.hours}`,
      rule.days === undefined ? 'every day' : `on ${rule.days.join(', ')}`,
      `(${rule.timeZone})`,
    ].join(' ');
    lines.push(['auto-approve', `${who}, ${when}; for them: ${applies(rule.forUser)}`]);
  }
  lines.push(
    [
      'duration',
      `up to ${formatDuration(role.maxDurationMs)}, ${formatDuration(role.defaultDurationMs)} when none is asked for (at least ${formatDuration(explanation.minDurationMs)})`,
    ],
    ['risk', risk(role)],
    [
      'break-glass',
      role.breakGlass ? 'yes: approved at once, the admin channel is paged and an admin reviews it afterwards' : 'no',
    ],
    ['self-extend', role.selfExtend ? 'yes, within the maximum duration in total' : 'no'],
    [
      'ticket',
      role.ticketPattern === undefined ? 'not required' : `required: the reason must match /${role.ticketPattern}/`,
    ],
    ['grant', role.grant.artefact],
    ['granted as', role.grant.grantee],
  );
  if (role.grant.refusal !== undefined) lines.push(['refused', role.grant.refusal]);
  const body = lines.map(([label, value]) => `  ${`${label}:`.padEnd(LABEL_WIDTH)} ${value}`).join('\n');
  return `${role.id} — ${role.description} (provider ${role.provider})\n${body}\n`;
}

function request(role: RoleExplanation): string {
  const selection = role.request;
  const groups = role.requesters.usergroups;
  switch (selection.answer) {
    case 'yes':
      if (selection.via === 'anyone') return 'yes: the role names no requesters, so anyone in the workspace may';
      if (selection.via === 'users') return 'yes: named in requesters.users';
      return `yes: as a member of ${selection.usergroups.join(', ')} (as stated)`;
    case 'if-member':
      return `only if a member of ${orList(selection.usergroups)}; not named in requesters.users`;
    case 'no':
      return groups.length === 0
        ? `no: requesters.users names only ${role.requesters.users.join(', ')}`
        : `no: not named in requesters.users, and not stated to be a member of ${orList(groups)}`;
  }
}

function approval(role: RoleExplanation): string {
  switch (role.approval.mode) {
    case 'break-glass':
      return 'none needed: break-glass, approved at once';
    case 'auto':
      return 'none needed: every allowed request is approved at once (autoApprove)';
    case 'approvers': {
      const count = role.approval.approvalsRequired;
      const where = role.approval.approvalChannel === undefined ? '' : ` in ${role.approval.approvalChannel}`;
      return `${count} distinct approval${count === 1 ? '' : 's'}${where}; one denial denies`;
    }
  }
}

function approvers(role: RoleExplanation): string {
  const them = role.approval.userApproves;
  const self =
    them.answer === 'yes'
      ? '; they are an approver too, but never of their own requests'
      : them.answer === 'if-member'
        ? `; they are an approver too if a member of ${orList(them.usergroups)} (never of their own requests)`
        : '';
  return `${people(role.approval.approvers)}${self}`;
}

function risk(role: RoleExplanation): string {
  const power = role.risk.iamPower;
  if (role.risk.level === 'high') {
    return power === undefined ? 'high (declared in the policy)' : `high: the target can change IAM itself (${power})`;
  }
  return power === undefined ? 'low' : `low as declared, although the target can change IAM itself (${power})`;
}

function applies(selection: Selection): string {
  if (selection.answer === 'yes') return 'applies';
  if (selection.answer === 'if-member') return `applies if a member of ${orList(selection.usergroups)}`;
  return 'does not apply';
}

function people(selector: PeopleSelector): string {
  const parts = [
    ...selector.users,
    ...(selector.usergroups.length > 0 ? [`members of ${selector.usergroups.join(', ')}`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'nobody';
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
