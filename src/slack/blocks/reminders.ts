import type { AccessRequest } from '../../domain/access-request';
import { approvalsMissing } from '../../domain/approvals';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import type { SlackMessage } from './approval-message';
import { requestIdCode, roleNames, slackTime } from './format';
import { doneButton, extendButton, timeLeftMs } from './grant-buttons';

/** The DM before a grant expires, with Extend and I'm done. */
export function expiryReminder(request: AccessRequest, role: Role | undefined, now: number): SlackMessage {
  const left = formatDuration(timeLeftMs(request, now));
  return {
    text: `:hourglass_flowing_sand: Your access to ${request.roleId} ends in ${left} (request ${request.id}).`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:hourglass_flowing_sand: Your access to *${roleNames(request)}* ends ${slackTime(request.expiresAt ?? now, now)}, in about ${left} (request ${requestIdCode(request.id)}).`,
        },
      },
      { type: 'actions', block_id: `remind-${request.id}`, elements: [extendButton(request), doneButton(request)] },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text:
              role?.selfExtend || role?.autoApprove
                ? "You can extend it yourself, up to the role's maximum."
                : "Extending needs an approver's yes; ask early.",
          },
        ],
      },
    ],
  };
}

/** The nudge in the approval thread for approvers who have not acted yet. */
export function approvalReminder(request: AccessRequest, role: Role): string {
  const approved = new Set(request.approvals.map((approval) => approval.userId));
  const mentions = [
    ...role.approvers.users.filter((user) => user !== request.requesterId && !approved.has(user)).map((u) => `<@${u}>`),
    ...role.approvers.usergroups.map((group) => `<!subteam^${group}>`),
  ];
  const who = mentions.length > 0 ? mentions.join(' ') : `Approvers of *${role.id}*`;
  const missing = approvalsMissing(request, role);
  return `:bell: ${who}: request ${requestIdCode(request.id)} from <@${request.requesterId}> for *${role.id}* still needs ${missing} approval${missing === 1 ? '' : 's'}${request.startsAt !== undefined ? ` before its scheduled start ${slackTime(request.startsAt)}` : ''}; it times out ${slackTime(request.approvalDeadline)}.`;
}
