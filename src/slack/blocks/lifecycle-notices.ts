import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { NoticeKind } from '../../domain/ports';
import { actorName, escapeMrkdwn, requestIdCode, slackTime } from './format';

/** The reply in the approval message's thread for one event; undefined when the event adds nothing there. */
export function threadReply(kind: NoticeKind, request: AccessRequest): string | undefined {
  const last = request.approvals.at(-1);
  switch (kind) {
    case 'requested':
    case 'refresh':
      return undefined;
    case 'approval-recorded':
      return last ? `:ballot_box_with_check: ${actorName(last.userId)} approved; more approvals needed.` : undefined;
    case 'approved':
      return `:white_check_mark: Approved by ${actorName(request.decidedBy ?? 'unknown')}; granting access.`;
    case 'activated':
      return `:large_green_circle: Access is active until ${slackTime(request.expiresAt ?? 0)}.`;
    case 'denied':
      return `:x: Denied by ${actorName(request.decidedBy ?? 'unknown')}.`;
    case 'cancelled':
      return ':heavy_minus_sign: Cancelled by the requester.';
    case 'timed-out':
      return ':alarm_clock: Nobody decided in time; the request timed out.';
    case 'failed':
      return `:warning: Granting failed: ${escapeMrkdwn(request.failureReason ?? 'unknown error')}. Nothing is granted.`;
    case 'expired':
      return `:hourglass: Access of <@${request.requesterId}> to *${request.roleId}* expired at ${slackTime(request.endedAt ?? 0)} and was removed.`;
    case 'revoked':
      return `:no_entry_sign: Access of <@${request.requesterId}> to *${request.roleId}* was revoked by ${actorName(request.endedBy ?? 'unknown')} and removed.`;
  }
}

/** The direct message to the requester for one event; undefined when they need not be told. */
export function requesterMessage(kind: NoticeKind, request: AccessRequest): string | undefined {
  const id = requestIdCode(request.id);
  switch (kind) {
    case 'requested':
    case 'refresh':
    case 'approval-recorded':
    case 'approved':
    case 'cancelled':
      return undefined;
    case 'activated':
      return [
        `:large_green_circle: Your access to *${request.roleId}* is active until ${slackTime(request.expiresAt ?? 0)} (${formatDuration(request.durationMs)}). Request ${id}; end it early with \`/jit revoke ${request.id}\`.`,
        ...(request.grant?.instructions !== undefined ? [request.grant.instructions] : []),
      ].join('\n');
    case 'denied':
      return `:x: Your request ${id} for *${request.roleId}* was denied by ${actorName(request.decidedBy ?? 'unknown')}.`;
    case 'timed-out':
      return `:alarm_clock: Your request ${id} for *${request.roleId}* timed out: no approver decided in time. Ask again with \`/jit request ${request.roleId} ${formatDuration(request.durationMs)} <reason>\`.`;
    case 'failed':
      return `:warning: Your request ${id} for *${request.roleId}* was approved, but granting failed: ${escapeMrkdwn(request.failureReason ?? 'unknown error')}. Nothing is granted; the approvers were told.`;
    case 'expired':
      return `:hourglass: Your access to *${request.roleId}* has expired and was removed (request ${id}).`;
    case 'revoked':
      return request.endedBy === request.requesterId
        ? `:no_entry_sign: You ended your access to *${request.roleId}*; it was removed (request ${id}).`
        : `:no_entry_sign: Your access to *${request.roleId}* was revoked by ${actorName(request.endedBy ?? 'unknown')} and removed (request ${id}).`;
  }
}

/** One line per event for the optional audit channel. */
export function auditLine(kind: NoticeKind, request: AccessRequest): string | undefined {
  if (kind === 'refresh') return undefined;
  return `${requestIdCode(request.id)} <@${request.requesterId}> · *${request.roleId}* · ${kind}`;
}
