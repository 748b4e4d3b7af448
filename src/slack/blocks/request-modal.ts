import type {
  ExternalSelect,
  KnownBlock,
  ModalView,
  MultiExternalSelect,
  MultiStaticSelect,
  StaticSelect,
} from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration, parseDuration } from '../../domain/duration';
import type { Role } from '../../domain/policy';
import { MAX_REASON_LENGTH } from '../../domain/request-service';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../ids';
import { BLOCK_KIT_LIMITS } from './block-kit-limits';
import { durationChoices, durationOption } from './duration-choices';
import { escapeMrkdwnWithin, requestIdCode, roleNames, slackTime, truncate } from './format';
import { roleOption, roleOptionGroups } from './role-options';

export interface RequestModalInput {
  /** The roles the person may request, in policy order. */
  roles: readonly Role[];
  minDurationMs: number;
  selectedRoleId?: string;
  /** A duration as typed, e.g. `2h`; preselected when it fits the role. */
  duration?: string;
  reason?: string;
  /** A start already picked (epoch ms), kept when the form is redrawn. */
  startsAt?: number;
  /** A line above the form, e.g. what was missing from the typed command. */
  note?: string;
}

function parsedOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/**
 * The role menu: a static menu while the roles fit in one (Slack's option limit counts options across groups),
 * else a menu that asks the bot for the roles matching what is typed (the `block_suggestion` listener).
 */
function roleMenuFor(roles: readonly Role[], selected: Role | undefined): StaticSelect | ExternalSelect {
  const initial = selected && { initial_option: roleOption(selected) };
  if (roles.length <= BLOCK_KIT_LIMITS.selectOptions) {
    return {
      type: 'static_select',
      action_id: ACTION_IDS.pickRole,
      placeholder: { type: 'plain_text', text: 'Choose a role' },
      option_groups: roleOptionGroups(roles),
      ...initial,
    };
  }
  return {
    type: 'external_select',
    action_id: ACTION_IDS.pickRole,
    placeholder: { type: 'plain_text', text: 'Type to find a role' },
    // 0: opening the menu already lists the first roles (Slack's default waits for 3 typed characters).
    min_query_length: 0,
    ...initial,
  };
}

/**
 * The optional "also request" menu: further roles granted with the first as one bundle. Static while the roles fit
 * one menu, else type-ahead through the same suggestions as the role menu.
 */
function moreRolesMenuFor(roles: readonly Role[]): MultiStaticSelect | MultiExternalSelect {
  if (roles.length <= BLOCK_KIT_LIMITS.selectOptions) {
    return {
      type: 'multi_static_select',
      action_id: ACTION_IDS.pickMoreRoles,
      placeholder: { type: 'plain_text', text: 'Add roles to this request' },
      option_groups: roleOptionGroups(roles),
    };
  }
  return {
    type: 'multi_external_select',
    action_id: ACTION_IDS.pickMoreRoles,
    placeholder: { type: 'plain_text', text: 'Type to add roles' },
    min_query_length: 0,
  };
}

function moreRolesBlock(roles: readonly Role[]): KnownBlock {
  return {
    type: 'input',
    block_id: INPUT_IDS.moreRoles,
    optional: true,
    label: { type: 'plain_text', text: 'Also request' },
    element: moreRolesMenuFor(roles),
    hint: {
      type: 'plain_text',
      text: "Granted together with the role above, or not at all, once each role's approvers approve; the shortest maximum applies.",
    },
  };
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
  const roles = input.roles;
  const selected = roles.find((role) => role.id === input.selectedRoleId);
  const roleMenu = roleMenuFor(roles, selected);

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
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `:point_right: ${escapeMrkdwnWithin(input.note, 2000)}` }],
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: INPUT_IDS.role,
      dispatch_action: true,
      label: { type: 'plain_text', text: 'Role' },
      element: roleMenu,
      ...(roleMenu.type === 'external_select' && {
        hint: {
          type: 'plain_text' as const,
          text: `${roles.length} roles: type part of a role's name or description to find it.`,
        },
      }),
    },
    // A bundle needs a second role to choose.
    ...(roles.length > 1 ? [moreRolesBlock(roles)] : []),
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
          text: truncate(
            `${selected.id} needs a ticket reference matching ${selected.ticketPattern}, e.g. INC-42.`,
            BLOCK_KIT_LIMITS.inputHint,
          ),
        },
      }),
    },
    {
      type: 'input',
      block_id: INPUT_IDS.start,
      optional: true,
      label: { type: 'plain_text', text: 'Start (optional)' },
      // docs.slack.dev/reference/block-kit/block-elements/datetime-picker-element: picked in the person's own time
      // zone, submitted as a Unix timestamp in seconds (`selected_date_time`).
      element: {
        type: 'datetimepicker',
        action_id: INPUT_IDS.start,
        ...(input.startsAt !== undefined && { initial_date_time: Math.floor(input.startsAt / 1000) }),
      },
      hint: {
        type: 'plain_text',
        text: selected
          ? `For a maintenance window: approved ahead, granted then, at most ${formatDuration(selected.maxLeadTimeMs)} ahead. Leave empty to start once approved.`
          : 'For a maintenance window: approved ahead, granted then. Leave empty to start once approved.',
      },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'Access starts as soon as the request is approved (or at the start you chose) and ends by itself after the chosen duration. Approvers see your reason.',
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
  const head = `${requestIdCode(request.id)} for *${roleNames(request)}* (${formatDuration(request.durationMs)}${request.startsAt !== undefined ? ` starting ${slackTime(request.startsAt)}` : ''})`;
  const text =
    request.state === 'pending'
      ? `:inbox_tray: Request ${head} is waiting for approval${role.approvalChannel !== undefined ? ` in <#${role.approvalChannel}>` : ''}; you get a DM when it is decided.`
      : request.startsAt !== undefined
        ? `:white_check_mark: Request ${head} was approved at once; access is granted ${slackTime(request.startsAt)} and you get a DM then.`
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
