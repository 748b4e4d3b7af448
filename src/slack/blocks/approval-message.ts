import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { approvalsMissing } from '../../domain/approvals';
import type { BundleRoleView } from '../../domain/bundle';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { failureText } from '../domain-text';
import { BLOCK_KIT_LIMITS } from './block-kit-limits';
import { actorName, escapeMrkdwnWithin, requestIdCode, roleNames, slackTime } from './format';

/** Longest role description in the Role field; the policy sets no bound on it. */
const MAX_ROLE_DESCRIPTION = 300;
/** Longest denial or failure reason in the state line; the thread reply and the audit trail have the rest. */
const MAX_STATE_REASON = 1000;

import { approvalDurationBlock } from './approval-duration';
import { approveButton, denyButton } from './grant-buttons';

export interface SlackMessage {
  /** Plain fallback shown in notifications and by screen readers. */
  text: string;
  blocks: KnownBlock[];
}

/**
 * The approval message in the role's channel, drawn from the request as stored: Approve/Deny while pending (with
 * a menu to approve for less time, when `minDurationMs` is given and something shorter is allowed), then one line
 * saying what happened, so every approver sees the current state.
 */
export function approvalMessage(
  request: AccessRequest,
  role: Role | undefined,
  minDurationMs?: number,
  bundle?: readonly BundleRoleView[],
): SlackMessage {
  const roleLine =
    bundle !== undefined
      ? bundleRoleLines(bundle)
      : role
        ? `*${role.id}* — ${escapeMrkdwnWithin(role.description, MAX_ROLE_DESCRIPTION)} (${role.provider})${role.risk === 'high' ? '\n:warning: *high risk*' : ''}`
        : `*${roleNames(request)}* (no longer in the policy)`;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          request.extends !== undefined
            ? `:key: <@${request.requesterId}> asks to extend *${roleNames(request)}* by *${formatDuration(request.durationMs)}* (access from request ${requestIdCode(request.extends)})`
            : `:key: <@${request.requesterId}> asks for *${roleNames(request)}* for *${formatDuration(request.requestedDurationMs ?? request.durationMs)}*`,
      },
    },
    {
      type: 'section',
      fields: [
        {
          type: 'mrkdwn',
          text: `*${bundle !== undefined ? 'Roles (granted together or not at all)' : 'Role'}*\n${roleLine}`,
        },
        {
          type: 'mrkdwn',
          text:
            request.extends !== undefined
              ? `*Extra time*\n+${formatDuration(request.durationMs)}`
              : `*Duration*\n${formatDuration(request.durationMs)} from activation${request.requestedDurationMs !== undefined ? ` (asked for ${formatDuration(request.requestedDurationMs)})` : ''}`,
        },
        { type: 'mrkdwn', text: `*Request*\n${requestIdCode(request.id)}` },
        { type: 'mrkdwn', text: `*Requested*\n${slackTime(request.createdAt)}` },
        ...(request.startsAt !== undefined
          ? [{ type: 'mrkdwn' as const, text: `*Starts*\n${slackTime(request.startsAt)} (scheduled)` }]
          : []),
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        // Escaping can make a 1000-character reason five times longer than Slack's section limit.
        text: `*Reason*\n>${escapeMrkdwnWithin(request.reason, BLOCK_KIT_LIMITS.sectionText - 10, { quote: true })}`,
      },
    },
  ];
  if (request.state === 'pending') {
    const shorter = minDurationMs !== undefined ? approvalDurationBlock(request, minDurationMs) : undefined;
    blocks.push(
      { type: 'context', elements: [{ type: 'mrkdwn', text: pendingLine(request, role, bundle) }] },
      ...(shorter !== undefined ? [shorter] : []),
      { type: 'actions', block_id: `decide-${request.id}`, elements: [approveButton(request), denyButton(request)] },
    );
  } else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: stateLine(request) } });
  }
  return {
    text: `${request.requesterId ? `<@${request.requesterId}>` : 'Someone'} asks ${request.extends !== undefined ? `to extend ${request.roleId} by` : `for ${request.roleId} for`} ${formatDuration(request.requestedDurationMs ?? request.durationMs)} (${request.id}): ${plainState(request)}`,
    blocks,
  };
}

/**
 * A bundle's roles, one line each, with what each still needs: an approver counts for the roles they approve
 * only. Roles whose approvers watch another channel name it, since the message is posted in the first role's.
 */
function bundleRoleLines(bundle: readonly BundleRoleView[]): string {
  const firstChannel = bundle[0]?.role?.approvalChannel;
  return bundle
    .map(({ roleId, role, missing }) => {
      if (!role) return `• *${roleId}* (no longer in the policy)`;
      const status =
        missing === 0 ? ':white_check_mark: approved' : `needs ${missing} more approval${missing > 1 ? 's' : ''}`;
      const elsewhere =
        missing > 0 && role.approvalChannel !== undefined && role.approvalChannel !== firstChannel
          ? ` — approvers in <#${role.approvalChannel}>, approve here or in the bot's Home tab`
          : '';
      return `• *${role.id}* (${role.provider})${role.risk === 'high' ? ' :warning: high risk' : ''} · ${status}${elsewhere}`;
    })
    .join('\n')
    .slice(0, BLOCK_KIT_LIMITS.sectionText - 40);
}

function pendingLine(request: AccessRequest, role: Role | undefined, bundle?: readonly BundleRoleView[]): string {
  const required = role?.approvalsRequired ?? 1;
  const given = required - (role ? approvalsMissing(request, role) : required);
  const who = request.approvals.map((approval) => actorName(approval.userId)).join(', ');
  const missing = bundle?.reduce((sum, each) => sum + each.missing, 0) ?? 0;
  const progress =
    bundle !== undefined
      ? `Needs ${missing} more approval${missing === 1 ? '' : 's'} across ${bundle.length} roles${who ? ` (so far: ${who})` : ''}`
      : required > 1
        ? `${given} of ${required} approvals${who ? ` (${who})` : ''}`
        : 'Needs 1 approval';
  const escalated =
    request.escalatedAt !== undefined ? ` · :rotating_light: escalated ${slackTime(request.escalatedAt)}` : '';
  return `:hourglass_flowing_sand: Pending · ${progress}${escalated} · times out ${slackTime(request.approvalDeadline)}`;
}

/** One line for a decided request: who decided, and where the access stands. */
export function stateLine(request: AccessRequest): string {
  const decided =
    request.decidedBy !== undefined && request.decidedAt !== undefined
      ? `${actorName(request.decidedBy)} at ${slackTime(request.decidedAt)}`
      : 'unknown';
  const approvedBy =
    request.approvals.length > 0 ? request.approvals.map((a) => actorName(a.userId)).join(', ') : decided;
  switch (request.state) {
    case 'pending':
      return ':hourglass_flowing_sand: Pending';
    case 'approved':
      return request.startsAt !== undefined
        ? `:white_check_mark: Approved by ${approvedBy} — access starts ${slackTime(request.startsAt)}, until ${slackTime(request.startsAt + request.durationMs)}`
        : `:white_check_mark: Approved by ${approvedBy} — granting access…`;
    case 'active':
      return `:large_green_circle: Approved by ${approvedBy} · *active until ${slackTime(request.expiresAt ?? 0)}*${
        request.revocationRequestedBy !== undefined
          ? ` · revocation requested by ${actorName(request.revocationRequestedBy)}`
          : ''
      }`;
    case 'expired':
      return `:hourglass: Approved by ${approvedBy} · expired at ${slackTime(request.endedAt ?? 0)}; access removed`;
    case 'revoked':
      return `:no_entry_sign: Approved by ${approvedBy} · revoked by ${actorName(request.endedBy ?? 'unknown')} at ${slackTime(request.endedAt ?? 0)}; access removed`;
    case 'denied':
      return `:x: Denied by ${decided}${request.denialReason !== undefined ? `: ${escapeMrkdwnWithin(request.denialReason, MAX_STATE_REASON)}` : ''}`;
    case 'cancelled':
      return request.startsAt !== undefined && request.endedBy !== undefined
        ? `:heavy_minus_sign: Approved by ${approvedBy} · called off by ${actorName(request.endedBy)} at ${slackTime(request.updatedAt)}, before its scheduled start`
        : `:heavy_minus_sign: Cancelled by the requester at ${slackTime(request.updatedAt)}`;
    case 'timed-out':
      return `:alarm_clock: Timed out at ${slackTime(request.updatedAt)}: nobody decided in time`;
    case 'failed':
      return `:warning: Approved by ${approvedBy}, but ${request.extends !== undefined ? 'extending' : 'granting'} failed: ${failureText(request, MAX_STATE_REASON)}. ${request.extends !== undefined ? 'The access keeps its expiry.' : 'Nothing is granted.'}`;
    case 'applied':
      return `:white_check_mark: Approved by ${approvedBy} · extension applied; access now lasts until ${slackTime(request.expiresAt ?? 0)}`;
  }
}

function plainState(request: AccessRequest): string {
  return request.state === 'pending' ? 'waiting for approval' : request.state;
}
