import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import type { NoticeKind } from '../../domain/ports';
import { failureText } from '../domain-text';
import { actorName, escapeMrkdwn, requestIdCode, roleNames, slackTime } from './format';

/** The reply in the approval message's thread for one event; undefined when the event adds nothing there. */
export function threadReply(kind: NoticeKind, request: AccessRequest): string | undefined {
  const last = request.approvals.at(-1);
  switch (kind) {
    case 'requested':
    case 'refresh':
    case 'approval-reminder':
    case 'expiry-reminder':
    // Needs the role (who it escalates to): `escalationThreadReply`.
    case 'escalated':
      return undefined;
    case 'extended':
      return `:arrows_clockwise: Access extended; now active until ${slackTime(request.expiresAt ?? 0)}.`;
    case 'applied':
      return `:arrows_clockwise: Extension applied: <@${request.requesterId}>'s access to *${roleNames(request)}* now lasts until ${slackTime(request.expiresAt ?? 0)}.`;
    case 'approval-recorded':
      return last ? `:ballot_box_with_check: ${actorName(last.userId)} approved; more approvals needed.` : undefined;
    case 'approved':
      if (request.startsAt !== undefined)
        return `:white_check_mark: Approved ${approvedBy(request)}; access starts ${slackTime(request.startsAt)}, until ${slackTime(request.startsAt + request.durationMs)}.`;
      return request.requestedDurationMs !== undefined
        ? `:white_check_mark: Approved ${shortenedApproval(request)}; granting access.`
        : `:white_check_mark: Approved by ${actorName(request.decidedBy ?? 'unknown')}; granting access.`;
    case 'activated':
      return `:large_green_circle: Access is active until ${slackTime(request.expiresAt ?? 0)}.`;
    case 'denied':
      return `:x: Denied by ${actorName(request.decidedBy ?? 'unknown')}.${denialReason(request)}`;
    case 'cancelled':
      return request.startsAt !== undefined && request.endedBy !== undefined
        ? `:heavy_minus_sign: Called off by ${actorName(request.endedBy)} before its scheduled start; nothing was granted.`
        : ':heavy_minus_sign: Cancelled by the requester.';
    case 'timed-out':
      return ':alarm_clock: Nobody decided in time; the request timed out.';
    case 'failed':
      return `:warning: Granting failed: ${failureText(request)}. Nothing is granted.`;
    case 'expired':
      return `:hourglass: Access of <@${request.requesterId}> to *${roleNames(request)}* expired at ${slackTime(request.endedAt ?? 0)} and was removed.`;
    case 'revoked':
      return `:no_entry_sign: Access of <@${request.requesterId}> to *${roleNames(request)}* was revoked by ${actorName(request.endedBy ?? 'unknown')} and removed.`;
  }
}

/** The direct message to the requester for one event; undefined when they need not be told. */
export function requesterMessage(kind: NoticeKind, request: AccessRequest): string | undefined {
  const id = requestIdCode(request.id);
  const what = request.extends !== undefined ? 'extension request' : 'request';
  switch (kind) {
    case 'approved':
      // Access waits for the scheduled start: say when, and how to call it off meanwhile.
      if (request.startsAt !== undefined)
        return `:white_check_mark: Your ${what} ${id} for *${roleNames(request)}* was approved${request.requestedDurationMs !== undefined ? ` ${shortenedApproval(request)}` : ''}; access starts ${slackTime(request.startsAt)} and ends ${slackTime(request.startsAt + request.durationMs)}. Call it off before then with \`/jit cancel ${request.id}\`.`;
      return request.requestedDurationMs !== undefined
        ? `:white_check_mark: Your ${what} ${id} for *${roleNames(request)}* was approved ${shortenedApproval(request)}.`
        : undefined;
    case 'escalated':
      return `:rotating_light: Nobody decided on your ${what} ${id} for *${roleNames(request)}* in time, so it was escalated to more approvers.`;
    case 'requested':
    case 'refresh':
    case 'approval-recorded':
    case 'applied':
    case 'approval-reminder':
    case 'expiry-reminder':
      return undefined;
    case 'cancelled':
      // The requester cancelling needs no DM; an approver calling off their scheduled access does.
      return request.startsAt !== undefined && request.endedBy !== undefined && request.endedBy !== request.requesterId
        ? `:heavy_minus_sign: Your ${what} ${id} for *${roleNames(request)}* was called off by ${actorName(request.endedBy)} before its scheduled start; nothing was granted.`
        : undefined;
    case 'extended':
      return `:arrows_clockwise: Your access to *${roleNames(request)}* is extended until ${slackTime(request.expiresAt ?? 0)} (request ${id}).`;
    case 'activated':
      return [
        `:large_green_circle: Your access to *${roleNames(request)}* is active until ${slackTime(request.expiresAt ?? 0)} (${formatDuration(request.durationMs)}). Request ${id}; extend it or end it early (*I'm done*) in the bot's Home tab, or with \`/jit revoke ${request.id}\`.`,
        ...(request.grant?.instructions !== undefined ? [request.grant.instructions] : []),
      ].join('\n');
    case 'denied':
      return `:x: Your ${what} ${id} for *${roleNames(request)}* was denied by ${actorName(request.decidedBy ?? 'unknown')}.${denialReason(request)}`;
    case 'timed-out':
      return request.extends !== undefined
        ? `:alarm_clock: Your extension request ${id} for *${roleNames(request)}* timed out: no approver decided in time. Your access keeps its expiry.`
        : `:alarm_clock: Your request ${id} for *${roleNames(request)}* timed out: no approver decided in time. Ask again with \`/jit request ${roleNames(request)} ${formatDuration(request.durationMs)} <reason>\`.`;
    case 'failed':
      return request.extends !== undefined
        ? `:warning: Your extension request ${id} for *${roleNames(request)}* was approved, but extending failed: ${failureText(request)}. Your access keeps its expiry.`
        : `:warning: Your request ${id} for *${roleNames(request)}* was approved, but granting failed: ${failureText(request)}. Nothing is granted; the approvers were told.`;
    case 'expired':
      return `:hourglass: Your access to *${roleNames(request)}* has expired and was removed (request ${id}).`;
    case 'revoked':
      return request.endedBy === request.requesterId
        ? `:no_entry_sign: You ended your access to *${roleNames(request)}*; it was removed (request ${id}).`
        : `:no_entry_sign: Your access to *${roleNames(request)}* was revoked by ${actorName(request.endedBy ?? 'unknown')} and removed (request ${id}).`;
  }
}

/** `by <@U…>`, or `for 30m instead of 2h by <@U…>` when approved for less than asked. */
function approvedBy(request: AccessRequest): string {
  return request.requestedDurationMs !== undefined
    ? shortenedApproval(request)
    : `by ${actorName(request.decidedBy ?? 'unknown')}`;
}

/**
 * `for 30m instead of 2h by <@U…>`, for a request approved for less than asked: named is the approver
 * whose choice was the shortest (the one granted).
 */
export function shortenedApproval(request: AccessRequest): string {
  const asked = request.requestedDurationMs ?? request.durationMs;
  const chooser =
    request.approvals.find((approval) => approval.durationMs === request.durationMs)?.userId ?? request.decidedBy;
  return `for ${formatDuration(request.durationMs)} instead of ${formatDuration(asked)} by ${actorName(chooser ?? 'unknown')}`;
}

/** The thread reply when a request escalates: mentions the people it escalates to, who may now decide. */
export function escalationThreadReply(request: AccessRequest, role: Role): string | undefined {
  if (role.escalation === undefined) return undefined;
  const { users, usergroups } = role.escalation.to;
  const who = [...users.map((userId) => `<@${userId}>`), ...usergroups.map((groupId) => `<!subteam^${groupId}>`)];
  return `:rotating_light: Nobody decided within ${formatDuration(role.escalation.afterMs)}: escalated to ${who.join(', ')}, who may now approve or deny here (and never their own requests). Times out ${slackTime(request.approvalDeadline)}.`;
}

/** One line per event for the optional audit channel. */
export function auditLine(kind: NoticeKind, request: AccessRequest): string | undefined {
  if (kind === 'refresh' || kind === 'approval-reminder' || kind === 'expiry-reminder') return undefined;
  return `${requestIdCode(request.id)} <@${request.requesterId}> · *${roleNames(request)}* · ${kind}`;
}

/** The approver's words to the requester, when they gave any. */
function denialReason(request: AccessRequest): string {
  return request.denialReason !== undefined ? ` Reason: ${escapeMrkdwn(request.denialReason)}` : '';
}
