import type { KnownBlock, ModalView, PlainTextOption, StaticSelect } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration, parseDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { MAX_REASON_LENGTH } from '../../domain/request-service';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../ids';
import { durationChoices, durationOption } from './duration-choices';
import { escapeMrkdwn, requestIdCode, truncate } from './format';

/** Slack's limits on menu option text and description, and on a menu's options. */
const MAX_OPTION_TEXT = 75;
const MAX_MENU_OPTIONS = 100;

const PROVIDER_LABELS: Readonly<Record<string, string>> = {
  aws: 'AWS',
  azure: 'Azure',
  gcp: 'Google Cloud',
  dryrun: 'Dry run (no cloud)',
};

export interface RequestModalInput {
  /** The roles the person may request, in policy order. */
  roles: readonly Role[];
  minDurationMs: number;
  selectedRoleId?: string;
  /** A duration as typed, e.g. `2h`; preselected when it fits the role. */
  duration?: string;
  reason?: string;
  /** A line above the form, e.g. what was missing from the typed command. */
  note?: string;
}

function roleOption(role: Role): PlainTextOption {
  return {
    text: { type: 'plain_text', text: truncate(role.id, MAX_OPTION_TEXT) },
    description: { type: 'plain_text', text: truncate(role.description, MAX_OPTION_TEXT) },
    value: role.id,
  };
}

function parsedOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** The request form: role (grouped by cloud), duration within the chosen role's maximum, and reason. */
export function requestModal(input: RequestModalInput): ModalView {
  if (input.roles.length === 0) {
    return {
      type: 'modal',
      callback_id: VIEW_IDS.request,
      title: { type: 'plain_text', text: 'Request access' },
      close: { type: 'plain_text', text: 'Close' },
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: ':no_entry: There are no roles you may request. Ask your platform team to add you to a role in the policy.',
          },
        },
      ],
    };
  }
  const roles = input.roles.slice(0, MAX_MENU_OPTIONS);
  const selected = roles.find((role) => role.id === input.selectedRoleId);
  const providers = [...new Set(roles.map((role) => role.provider))];
  const roleMenu: StaticSelect = {
    type: 'static_select',
    action_id: ACTION_IDS.pickRole,
    placeholder: { type: 'plain_text', text: 'Choose a role' },
    option_groups: providers.map((provider) => ({
      label: { type: 'plain_text', text: truncate(PROVIDER_LABELS[provider] ?? provider, MAX_OPTION_TEXT) },
      options: roles.filter((role) => role.provider === provider).map(roleOption),
    })),
    ...(selected && { initial_option: roleOption(selected) }),
  };

  const maxMs = selected?.maxDurationMs ?? Math.max(...roles.map((role) => role.maxDurationMs));
  const typed = parsedOrUndefined(input.duration);
  const preferred = selected ? (typed !== undefined && typed <= maxMs ? typed : selected.defaultDurationMs) : undefined;
  const choices = durationChoices(maxMs, input.minDurationMs, preferred);
  const durationMenu: StaticSelect = {
    type: 'static_select',
    action_id: INPUT_IDS.duration,
    placeholder: { type: 'plain_text', text: 'How long' },
    options: choices.options.map(durationOption),
    ...(choices.initialMs !== undefined && { initial_option: durationOption(choices.initialMs) }),
  };

  const blocks: KnownBlock[] = [];
  if (input.note !== undefined) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:point_right: ${escapeMrkdwn(input.note)}` }] });
  }
  blocks.push(
    {
      type: 'input',
      block_id: INPUT_IDS.role,
      dispatch_action: true,
      label: { type: 'plain_text', text: 'Role' },
      element: roleMenu,
    },
    {
      type: 'input',
      block_id: INPUT_IDS.duration,
      label: { type: 'plain_text', text: 'Duration' },
      element: durationMenu,
      hint: {
        type: 'plain_text',
        text: selected
          ? `At most ${formatDuration(selected.maxDurationMs)} for ${selected.id}.`
          : 'Choose a role first; its maximum applies.',
      },
    },
    {
      type: 'input',
      block_id: INPUT_IDS.reason,
      label: { type: 'plain_text', text: 'Reason' },
      element: {
        type: 'plain_text_input',
        action_id: INPUT_IDS.reason,
        multiline: true,
        max_length: MAX_REASON_LENGTH,
        placeholder: { type: 'plain_text', text: 'What you will do and why, e.g. a ticket' },
        ...(input.reason !== undefined && { initial_value: input.reason }),
      },
      ...(selected?.ticketPattern !== undefined && {
        hint: {
          type: 'plain_text' as const,
          text: `${selected.id} needs a ticket reference matching ${selected.ticketPattern}, e.g. INC-42.`,
        },
      }),
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'Access starts as soon as the request is approved and ends by itself after the chosen duration. Approvers see your reason.',
        },
      ],
    },
  );
  return {
    type: 'modal',
    callback_id: VIEW_IDS.request,
    title: { type: 'plain_text', text: 'Request access' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/** What the form turns into once the request is filed. */
export function requestSentView(request: AccessRequest, role: Role): ModalView {
  const head = `${requestIdCode(request.id)} for *${role.id}* (${formatDuration(request.durationMs)})`;
  const text =
    request.state === 'pending'
      ? `:inbox_tray: Request ${head} is waiting for approval${role.approvalChannel !== undefined ? ` in <#${role.approvalChannel}>` : ''}; you get a DM when it is decided.`
      : `:white_check_mark: Request ${head} was approved at once; access is being granted and you get a DM when it is active.`;
  return {
    type: 'modal',
    callback_id: VIEW_IDS.request,
    title: { type: 'plain_text', text: 'Request sent' },
    close: { type: 'plain_text', text: 'Done' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Follow it in the bot's Home tab or with \`/jit status ${request.id}\`.` }],
      },
    ],
  };
}
