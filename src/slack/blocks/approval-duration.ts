import type { KnownBlock, PlainTextOption, StaticSelect } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import { ACTION_IDS } from '../ids';
import { durationChoices } from './duration-choices';

/** The `block_id` of the approval-duration menu on a request's approval message or escalation DM. */
export function approvalDurationBlockId(requestId: string): string {
  return `approve-for-${requestId}`;
}

/**
 * "Approve for [2h ▾]": a menu of the durations from the policy's minimum up to the one asked for, preselected on
 * the one asked for. Approve reads it from the message's state (Slack sends every menu's choice with a click), so
 * a plain Approve keeps the asked duration; undefined when nothing shorter is allowed.
 */
export function approvalDurationBlock(request: AccessRequest, minDurationMs: number): KnownBlock | undefined {
  const choices = durationChoices(request.durationMs, minDurationMs, request.durationMs);
  if (choices.options.length < 2) return undefined;
  const option = (ms: number): PlainTextOption => ({
    text: {
      type: 'plain_text',
      text: ms === request.durationMs ? `${formatDuration(ms)} (as asked)` : formatDuration(ms),
    },
    value: formatDuration(ms),
  });
  const menu: StaticSelect = {
    type: 'static_select',
    action_id: ACTION_IDS.approvalDuration,
    placeholder: { type: 'plain_text', text: 'Duration' },
    options: choices.options.map(option),
    initial_option: option(request.durationMs),
  };
  return {
    type: 'section',
    block_id: approvalDurationBlockId(request.id),
    text: {
      type: 'mrkdwn',
      text: `*Approve for*\nAt most ${request.extends !== undefined ? 'the extra time' : 'the duration'} asked for; with several approvals the shortest is granted.`,
    },
    accessory: menu,
  };
}
