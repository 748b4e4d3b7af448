import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { approvalsMissing } from '../../domain/approvals';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { ACTION_IDS } from '../ids';
import { actorName, escapeMrkdwn, requestIdCode, slackTime } from './format';

export interface SlackMessage {
  /** Plain fallback shown in notifications and by screen readers. */
  text: string;
  blocks: KnownBlock[];
}

/**
 * The approval message in the role's channel, drawn from the request as stored: Approve/Deny while pending,
 * then one line saying what happened, so every approver sees the current state.
 */
export function approvalMessage(request: AccessRequest, role: Role | undefined): SlackMessage {
  const roleLine = role
    ? `*${role.id}* — ${escapeMrkdwn(role.description)} (${role.provider})${role.risk === 'high' ? '\n:warning: *high risk*' : ''}`
    : `*${request.roleId}* (no longer in the policy)`;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:key: <@${request.requesterId}> asks for *${request.roleId}* for *${formatDuration(request.durationMs)}*`,
      },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Role*\n${roleLine}` },
        { type: 'mrkdwn', text: `*Duration*\n${formatDuration(request.durationMs)} from activation` },
        { type: 'mrkdwn', text: `*Request*\n${requestIdCode(request.id)}` },
        { type: 'mrkdwn', text: `*Requested*\n${slackTime(request.createdAt)}` },
      ],
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Reason*\n>${escapeMrkdwn(request.reason).replace(/\n/g, '\n>')}` },
    },
  ];
  if (request.state === 'pending') {
    blocks.push(
      { type: 'context', elements: [{ type: 'mrkdwn', text: pendingLine(request, role) }] },
      {
        type: 'actions',
        block_id: `decide-${request.id}`,
        elements: [
          {
            type: 'button',
            action_id: ACTION_IDS.approve,
            text: { type: 'plain_text', text: 'Approve' },
            style: 'primary',
            value: request.id,
          },
          {
            type: 'button',
            action_id: ACTION_IDS.deny,
            text: { type: 'plain_text', text: 'Deny' },
            style: 'danger',
            value: request.id,
          },
        ],
      },
    );
  } else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: stateLine(request) } });
  }
  return {
    text: `${request.requesterId ? `<@${request.requesterId}>` : 'Someone'} asks for ${request.roleId} for ${formatDuration(request.durationMs)} (${request.id}): ${plainState(request)}`,
    blocks,
  };
}

function pendingLine(request: AccessRequest, role: Role | undefined): string {
  const required = role?.approvalsRequired ?? 1;
  const given = required - (role ? approvalsMissing(request, role) : required);
  const who = request.approvals.map((approval) => actorName(approval.userId)).join(', ');
  const progress = required > 1 ? `${given} of ${required} approvals${who ? ` (${who})` : ''}` : 'Needs 1 approval';
  return `:hourglass_flowing_sand: Pending · ${progress} · times out ${slackTime(request.approvalDeadline)}`;
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
      return `:white_check_mark: Approved by ${approvedBy} — granting access…`;
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
      return `:x: Denied by ${decided}`;
    case 'cancelled':
      return `:heavy_minus_sign: Cancelled by the requester at ${slackTime(request.updatedAt)}`;
    case 'timed-out':
      return `:alarm_clock: Timed out at ${slackTime(request.updatedAt)}: nobody decided in time`;
    case 'failed':
      return `:warning: Approved by ${approvedBy}, but granting failed: ${escapeMrkdwn(request.failureReason ?? 'unknown error')}. Nothing is granted.`;
  }
}

function plainState(request: AccessRequest): string {
  return request.state === 'pending' ? 'waiting for approval' : request.state;
}
