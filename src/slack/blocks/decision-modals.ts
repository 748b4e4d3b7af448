import type { ModalView } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { MAX_DENIAL_REASON_LENGTH, MAX_REASON_LENGTH } from '../../domain/request-service';
import { INPUT_IDS, VIEW_IDS } from '../ids';
import { durationChoices, durationOption } from './duration-choices';
import { escapeMrkdwn, requestIdCode, roleNames, slackTime, truncate } from './format';

/** Longest reason quoted in a summary; the approval message has the whole of it. */
const MAX_QUOTED_REASON = 500;

/** Asks the approver for an optional reason before denying; `privateMetadata` says where Deny was clicked. */
export function denyModal(request: AccessRequest, privateMetadata: string): ModalView {
  const what =
    request.extends !== undefined
      ? `to extend *${roleNames(request)}* by *${formatDuration(request.durationMs)}*`
      : `*${roleNames(request)}* for *${formatDuration(request.durationMs)}*`;
  return {
    type: 'modal',
    callback_id: VIEW_IDS.deny,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Back' },
    private_metadata: privateMetadata,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `<@${request.requesterId}> asks ${what} (request ${requestIdCode(request.id)}).\n>${escapeMrkdwn(truncate(request.reason, MAX_QUOTED_REASON)).replace(/\n/g, '\n>')}`,
        },
      },
      {
        type: 'input',
        block_id: INPUT_IDS.reason,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (optional)' },
        element: {
          type: 'plain_text_input',
          action_id: INPUT_IDS.reason,
          multiline: true,
          max_length: MAX_DENIAL_REASON_LENGTH,
          placeholder: { type: 'plain_text', text: 'e.g. use the read-only role instead' },
        },
        hint: { type: 'plain_text', text: 'The requester sees it.' },
      },
    ],
  };
}

export interface ExtendModalInput {
  /** The active grant. */
  request: AccessRequest;
  role: Role;
  maxExtraMs: number;
  minDurationMs: number;
  needsApproval: boolean;
  privateMetadata: string;
}

/** Asks the holder how much more time; with a reason for the approvers when the role needs one. */
export function extendModal(input: ExtendModalInput): ModalView {
  const { request, role, maxExtraMs } = input;
  const choices = durationChoices(maxExtraMs, input.minDurationMs, Math.min(role.defaultDurationMs, maxExtraMs));
  const how = input.needsApproval
    ? `An approver of ${role.id} must approve the extension; your access continues meanwhile.`
    : `${role.id} lets you extend without a new approval; the new expiry applies at once.`;
  return {
    type: 'modal',
    callback_id: VIEW_IDS.extend,
    title: { type: 'plain_text', text: 'Extend access' },
    submit: { type: 'plain_text', text: input.needsApproval ? 'Ask approvers' : 'Extend' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: input.privateMetadata,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Your access to *${role.id}* (request ${requestIdCode(request.id)}) ends ${slackTime(request.expiresAt ?? 0)}.`,
        },
      },
      {
        type: 'input',
        block_id: INPUT_IDS.duration,
        label: { type: 'plain_text', text: 'Extra time' },
        element: {
          type: 'static_select',
          action_id: INPUT_IDS.duration,
          placeholder: { type: 'plain_text', text: 'How much more' },
          options: choices.options.map(durationOption),
          ...(choices.initialMs !== undefined && { initial_option: durationOption(choices.initialMs) }),
        },
      },
      ...(input.needsApproval
        ? [
            {
              type: 'input' as const,
              block_id: INPUT_IDS.reason,
              optional: true,
              label: { type: 'plain_text' as const, text: 'Why more time? (optional)' },
              element: {
                type: 'plain_text_input' as const,
                action_id: INPUT_IDS.reason,
                max_length: MAX_REASON_LENGTH,
              },
              hint: {
                type: 'plain_text' as const,
                text: 'Approvers see it; your first reason is used if you leave it empty.',
              },
            },
          ]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${how} At most ${formatDuration(maxExtraMs)} more (the role allows ${formatDuration(role.maxDurationMs)} in total).`,
          },
        ],
      },
    ],
  };
}
