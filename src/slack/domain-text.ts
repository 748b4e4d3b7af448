import type { AccessRequest } from '../domain/access-request';
import { formatDuration } from '../domain/duration';
import type {
  DomainError,
  DomainErrorCode,
  DomainErrorDetailsByCode,
  InvalidStateDetails,
  NamedPeople,
  NotAllowedDetails,
} from '../domain/errors';
import { describeGrantRefusal, type GrantRefusal } from '../domain/grant-refusal';
import type { Alert, AlertDetailsByKind, DriftDetails } from '../domain/ports';
import { escapeMrkdwn, escapeMrkdwnWithin, slackTime, truncate } from './blocks/format';
import { SLASH_COMMAND } from './ids';

/**
 * The sentences people see for what the domain reports by code: refusals (`DomainError`), grants the policy
 * refused (`GrantRefused`, stored with a failed request) and operator alerts. The domain gives codes and plain
 * facts; this is where they become Slack text, with mentions (`<@U…>`), channel links (`<#C…>`) and command hints
 * (`/jit …`). Each sentence says what to do next where there is something to do.
 */

/** Roles named when a request for a role is refused; the rest are counted. */
export const ROLES_NAMED_IN_REFUSAL = 20;

type RefusalText = { [C in DomainErrorCode]: (details: DomainErrorDetailsByCode[C]) => string };

const mention = (userId: string) => `<@${userId}>`;
const command = (text: string) => `\`${SLASH_COMMAND} ${text}\``;

/** One sentence per refusal code; a new code does not compile until it has one. */
export const REFUSAL_TEXT: RefusalText = {
  unknown_role: ({ roleId, requestableRoleIds }) =>
    `There is no role "${roleId}". Roles you may request: ${roleList(requestableRoleIds)}.`,
  role_not_requestable: (details) =>
    'requestId' in details
      ? `The policy no longer lets you request ${details.roleId}, so ${details.requestId} cannot be extended.`
      : `You may not request "${details.roleId}". Roles you may request: ${roleList(details.requestableRoleIds)}.`,
  invalid_duration: ({ input, problem }) => {
    switch (problem) {
      case 'syntax':
        return `"${input}" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.`;
      case 'zero':
        return `"${input}" is zero; ask for a positive duration such as 30m.`;
      case 'too-long':
        return `"${input}" is longer than any role allows.`;
      case 'not-a-point-in-time':
        return pointInTimeRefusal(input);
    }
  },
  duration_too_long: (details) =>
    'usedMs' in details
      ? `${details.requestId} already lasts ${formatDuration(details.usedMs)} of the ${formatDuration(details.maxMs)} ${details.roleId} allows in total; ask anew with ${command(`request ${details.roleId}`)} when it ends.`
      : `${formatDuration(details.durationMs)} is longer than ${details.roleId} allows; ask for at most ${formatDuration(details.maxMs)}.`,
  duration_too_short: ({ durationMs, minMs }) =>
    `${formatDuration(durationMs)} is shorter than the minimum; ask for at least ${formatDuration(minMs)}.`,
  missing_reason: ({ roleId, newRequest }) =>
    `Say why you need ${roleId}${newRequest ? `: \`${requestUsage(roleId, newRequest.durationMs)} <reason, e.g. a ticket>\`` : ''}.`,
  reason_too_long: ({ length, limit }) =>
    `The reason is ${length} characters long; keep it under ${limit} and link to details.`,
  missing_ticket: ({ roleId, ticketPattern, newRequest }) =>
    `${roleId} needs a ticket reference in the reason (matching \`${ticketPattern}\`, e.g. INC-42)${newRequest ? `: \`${requestUsage(roleId, newRequest.durationMs)} INC-42 <why>\`` : ''}.`,
  unknown_request: ({ requestId }) =>
    `There is no request with ID "${requestId}". ${command('list')} shows your open requests and their IDs.`,
  not_allowed: notAllowedText,
  self_approval: ({ requestId, roleId, action }) =>
    action === 'approve'
      ? `You asked for ${requestId}, so you cannot approve it; another approver of ${roleId} must.`
      : `You asked for ${requestId}; withdraw it with ${command(`cancel ${requestId}`)} instead of denying it.`,
  already_approved_by_you: ({ requestId, approvalsMissing }) =>
    `You already approved ${requestId}; it needs approval from ${approvalsMissing} more approver(s).`,
  invalid_state: invalidStateText,
  concurrent_update: ({ requestId }) =>
    `Request ${requestId} kept changing while we tried to update it; please try again.`,
  stale_click: ({ requestId, channel }) =>
    requestId === undefined
      ? 'That button does not carry a request ID.'
      : `That button is not on the approval message of ${requestId}; decide on the message in ${channel !== undefined ? `<#${channel}>` : 'its approval channel'}.`,
  foreign_team: ({ action, origin, allowedCount }) =>
    `This bot serves only its own workspace${allowedCount > 1 ? 's' : ''}; you cannot ${action} from ${origin ?? 'an unknown workspace'}.`,
  inactive_account: ({ account, action }) =>
    `Your Slack account is ${ACCOUNT_STANDING[account]}, so it cannot ${action} access requests.`,
  invalid_command: ({ explanation }) => explanation,
  invalid_approval_duration: ({ requestId, durationMs, problem, requestedMs, minMs }) =>
    problem === 'longer-than-requested'
      ? `${formatDuration(durationMs)} is longer than the ${formatDuration(requestedMs)} asked for in ${requestId}; approve for at most ${formatDuration(requestedMs)}.`
      : `${formatDuration(durationMs)} is shorter than the policy's minimum; approve ${requestId} for at least ${formatDuration(minMs)}.`,
  too_many_requests: ({ open }) =>
    `You already have ${open} pending or active requests, the most one person may have; cancel or revoke one first (${command('list')}).`,
  invalid_start: ({ input, problem }) =>
    problem === 'syntax'
      ? `"${escapeMrkdwnWithin(input, 60)}" is not a start time. Write the date and time, read in your Slack time zone, as \`at 2026-12-01 22:00\`, or with an offset, \`at 2026-12-01T22:00+01:00\`.`
      : `"${escapeMrkdwnWithin(input, 60)}" is no such time (check the date, and any daylight-saving change in your time zone that night).`,
  start_in_past: ({ startsAt, now }) =>
    `The start ${slackTime(startsAt, now)} has already passed; choose a time ahead, or leave the start out to begin as soon as the request is approved.`,
  start_too_far: ({ roleId, startsAt, now, limit }) =>
    `${roleId} can be scheduled at most ${limit} ahead, and ${slackTime(startsAt, now)} is further; ask again closer to the time.`,
  invalid_bundle: (details) =>
    details.problem === 'too-many'
      ? `One request can bundle at most ${details.limit} roles, and you asked for ${details.roleIds.length}; split them into several requests.`
      : `${details.roleId} is break-glass access, which is asked for on its own: ${command(`request ${details.roleId} <reason>`)}, and the other roles in a separate request.`,
};

/** The sentence for a domain refusal. */
export function refusalText(error: DomainError): string {
  // `code` and `details` belong together by construction; TypeScript cannot follow that through the union.
  const text = REFUSAL_TEXT[error.code] as (details: DomainErrorDetailsByCode[DomainErrorCode]) => string;
  return text(error.details);
}

/**
 * Why a grant the policy refused failed, as the requester and approvers read it (after "granting failed: "), in
 * mrkdwn: mentions live, what a person typed (a profile email) escaped.
 */
export function grantRefusalText(refusal: GrantRefusal): string {
  return describeGrantRefusal(refusal, { person: mention, literal: (text) => `\`${text}\``, typed: escapeMrkdwn });
}

/**
 * Why a failed request's grant failed, in mrkdwn: the sentence for a policy refusal, else the stored reason (a
 * provider's own message, or a record stored before refusals were coded), escaped, cut to `max` characters.
 */
export function failureText(request: Pick<AccessRequest, 'failureReason' | 'grantRefusal'>, max = 2_000): string {
  if (request.grantRefusal !== undefined) return truncate(grantRefusalText(request.grantRefusal), max);
  return escapeMrkdwnWithin(request.failureReason ?? 'unknown error', max);
}

/** What an alert tells the admin channel, in a sentence or two. */
export function alertText(alert: Alert): string {
  switch (alert.kind) {
    case 'revocation-failing':
      return `Revoking access for request ${alert.requestId} has failed ${alert.details.attempts} times; the bot keeps retrying with backoff. The access stays in place until it succeeds.`;
    case 'access-remains': {
      const { requesterId, roleId, provider } = alert.details;
      return `Access of ${mention(requesterId)} to ${roleId} (request ${alert.requestId}) was still in place in ${provider} after its revocation had time to propagate; the bot revoked it again. Check the cloud.`;
    }
    case 'drift':
      return driftText(alert.requestId, alert.details);
    case 'break-glass': {
      const { requesterId, roleId, durationMs, reason } = alert.details;
      return `${mention(requesterId)} used break-glass access to ${roleId} for ${formatDuration(durationMs)} (request ${alert.requestId}). Reason: ${escapeMrkdwnWithin(reason, 1_500)}. An admin must review it.`;
    }
    case 'policy-rejected':
      return policyRejectedText(alert.details);
    case 'audit-event-rejected': {
      const { status, eventId, eventType, requestId } = alert.details;
      return `The audit webhook (settings.auditWebhook) answered HTTP ${status} to event ${escapeMrkdwnWithin(eventId, 100)} (${escapeMrkdwnWithin(eventType, 100)}${requestId !== undefined ? `, request ${escapeMrkdwnWithin(requestId, 100)}` : ''}), which no retry can change, so it was skipped; the events after it are still sent. The entry stays in the audit trail: export it with /jit audit. Further refusals within the hour are only logged; check the receiver's log.`;
    }
  }
}

/** Problems listed in full in a policy alert before the rest are only counted (a section holds 3,000 characters). */
export const POLICY_PROBLEMS_LISTED = 10;

function policyRejectedText({ file, trigger, problems }: AlertDetailsByKind['policy-rejected']): string {
  const when = trigger === 'SIGHUP' ? 'On SIGHUP, the bot read' : 'The bot saw a change to';
  const listed = problems.slice(0, POLICY_PROBLEMS_LISTED).map((problem) => `• ${escapeMrkdwnWithin(problem, 200)}`);
  const more = problems.length - listed.length;
  return [
    `${when} the policy file ${escapeMrkdwnWithin(file, 200)} but refused it, so the policy in force stays unchanged. Fix the file (\`npx jit-access-bot check\` shows the same problems) and it is read again when saved:`,
    ...listed,
    ...(more > 0 ? [`…and ${more} more in the bot's log.`] : []),
  ].join('\n');
}

/** The refusal of a time that is neither a duration back from now nor a date (`/jit audit <since>`). */
function pointInTimeRefusal(input: string): string {
  return `"${input.trim()}" is neither a time back from now (30m, 12h, 7d, 1d12h) nor a date (2025-01-31 or 2025-01-31T08:00:00Z).`;
}

function driftText(requestId: string, details: DriftDetails): string {
  switch (details.situation) {
    case 'missing-in-cloud':
      return `Request ${requestId} (${details.roleId} for ${mention(details.requesterId)}) is active in the store, but ${details.provider} holds no artefact for it: it may have been removed by hand.`;
    case 'unknown-to-store':
      return `${details.provider} holds ${escapeMrkdwnWithin(details.description, 500)}, made by the bot for request ${requestId}, which the store does not know (was Redis emptied?). ${
        details.endsAt !== undefined
          ? `It ends by itself at ${new Date(details.endsAt).toISOString()} and will be revoked then.`
          : 'It is past its expiry and is being revoked.'
      }`;
    case 'left-behind':
      return `${details.provider} still holds ${escapeMrkdwnWithin(details.description, 500)} although request ${requestId} is ${details.state}; revoking it.`;
  }
}

const ACCOUNT_STANDING: Record<DomainErrorDetailsByCode['inactive_account']['account'], string> = {
  unknown: 'unknown to Slack',
  deactivated: 'deactivated',
  guest: 'a guest account',
};

function notAllowedText(details: NotAllowedDetails): string {
  switch (details.situation) {
    case 'not-holder':
      return `Only ${mention(details.requesterId)}, who holds this access, can extend it.`;
    case 'not-requester':
      return `Only ${mention(details.requesterId)}, who asked for ${details.requestId}, can cancel it.`;
    case 'not-requester-or-approver':
      if (details.action === 'status')
        return `Only ${mention(details.requesterId)} and the approvers of ${details.roleId} can see ${details.requestId}.`;
      return `Only ${mention(details.requesterId)} or an approver of ${details.roleId} can ${details.action === 'revoke' ? 'revoke' : 'call off'} ${details.requestId}${details.action === 'cancel' ? ' before its start' : ''}.`;
    case 'not-admin':
      if (details.action === 'audit') return whoMayExport(details.admins);
      return `Only the admins named in the policy (settings.admins) can ${details.action === 'review' ? 'review break-glass access' : 'retry a revocation'}.`;
    case 'role-removed':
      return `Role ${details.roleId} is no longer in the policy, so ${details.requestId} can no longer be decided.`;
    case 'not-approver':
      return `You are not an approver of ${details.roleId}, so you cannot ${details.action} ${details.requestId}.`;
    case 'not-yet-escalated':
      return `${details.requestId} is escalated to you only if nobody decides by ${slackTime(details.escalatesAt)}; until then only the approvers of ${details.roleId} can ${details.action} it.`;
  }
}

function invalidStateText(details: InvalidStateDetails): string {
  const id = details.requestId;
  switch (details.situation) {
    case 'is-extension':
      return `${id} is an extension; extend ${details.extends} instead.`;
    case 'nothing-to-extend': {
      const why =
        details.state === 'active'
          ? 'is ending now'
          : `is ${details.state === 'approved' ? 'being granted' : details.state}`;
      return `Access for ${id} ${why}, so there is nothing to extend.`;
    }
    case 'extension-waiting':
      return `Extension ${details.extensionId} of ${id} is already ${details.extensionState === 'pending' ? 'waiting for approval' : 'being applied'}; cancel it first to ask for a different time.`;
    case 'not-pending': {
      const hint =
        details.state === 'approved' || details.state === 'active'
          ? ` To end the access, use ${command(`revoke ${id}`)}.`
          : '';
      return `Request ${id} is already ${details.state}, so it cannot be cancelled.${hint}`;
    }
    case 'being-granted':
      return `Access for ${id} is being granted right now; revoke it again in a few seconds.`;
    case 'still-pending':
      return `Request ${id} is still pending, so there is no access to revoke.${details.byRequester ? ` Use ${command(`cancel ${id}`)} to withdraw it.` : ''}`;
    case 'not-active':
      return details.action === 'revoke'
        ? `Request ${id} is already ${details.state}; there is no access to revoke.`
        : `Request ${id} is already ${details.state}; nothing to retry.`;
    case 'not-break-glass':
      return `Request ${id} was not break-glass access; there is nothing to review.`;
    case 'already-decided':
      return `Request ${id} is already ${details.state}; nothing to ${details.action}.`;
    case 'decision-timed-out':
      return `Request ${id} waited too long for a decision and has timed out; the requester can ask again.`;
    case 'transition':
      return `Request ${id} is ${details.state}; it cannot become ${details.to}.`;
  }
}

/** The roles a refusal offers instead: the first few, with a count and a hint for the rest. */
function roleList(requestable: readonly string[]): string {
  if (requestable.length === 0) return 'none (ask your platform team)';
  const named = requestable.slice(0, ROLES_NAMED_IN_REFUSAL).join(', ');
  const more = requestable.length - ROLES_NAMED_IN_REFUSAL;
  return more > 0 ? `${named} and ${more} more (${command('roles')})` : named;
}

/** How a new request with this role and duration is typed. */
function requestUsage(roleId: string, durationMs: number): string {
  return `${SLASH_COMMAND} request ${roleId} ${formatDuration(durationMs)}`;
}

function whoMayExport(admins: NamedPeople): string {
  const named = [
    ...admins.users.map(mention),
    ...admins.usergroups.map((groupId) => `members of <!subteam^${groupId}>`),
  ];
  if (named.length === 0) {
    return 'Nobody may export the audit trail in Slack: the policy names no admins (`settings.admins`). Ask your platform team to add you there, or to run `npm run audit` where the bot runs.';
  }
  return `Only the bot's admins may export the audit trail: ${joinNames(named)}. Ask one of them, or ask your platform team to add you to \`settings.admins\` in the policy.`;
}

function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}
