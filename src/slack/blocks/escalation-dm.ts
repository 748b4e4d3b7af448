import type { KnownBlock } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { approvalDurationBlock } from './approval-duration';
import type { SlackMessage } from './approval-message';
import { BLOCK_KIT_LIMITS } from './block-kit-limits';
import { escapeMrkdwnWithin, requestIdCode, slackTime } from './format';
import { approveButton, denyButton } from './grant-buttons';

/**
 * The DM to each escalation approver: the request, why it came to them, and Approve/Deny (with the menu to
 * approve for less time). Only they see it, so the bot accepts a decision from it once the request is escalated.
 */
export function escalationDm(request: AccessRequest, role: Role, minDurationMs: number): SlackMessage {
  const what =
    request.extends !== undefined
      ? `to extend *${request.roleId}* by *${formatDuration(request.durationMs)}*`
      : `for *${request.roleId}* for *${formatDuration(request.durationMs)}*`;
  const after = role.escalation !== undefined ? ` within ${formatDuration(role.escalation.afterMs)}` : '';
  const where = role.approvalChannel !== undefined ? ` in <#${role.approvalChannel}>` : '';
  const shorter = approvalDurationBlock(request, minDurationMs);
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:rotating_light: <@${request.requesterId}> asks ${what} (request ${requestIdCode(request.id)}). Nobody decided${after}${where}, so it is escalated to you; it times out ${slackTime(request.approvalDeadline)}.`,
      },
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Reason*\n>${escapeMrkdwnWithin(request.reason, BLOCK_KIT_LIMITS.sectionText - 10, { quote: true })}`,
      },
    },
    ...(shorter !== undefined ? [shorter] : []),
    { type: 'actions', block_id: `decide-${request.id}`, elements: [approveButton(request), denyButton(request)] },
  ];
  return {
    text: `Escalated to you: <@${request.requesterId}> asks ${what.replace(/\*/g, '')} (${request.id})`,
    blocks,
  };
}
