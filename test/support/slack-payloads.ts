/**
 * Factories for the exact request bodies Slack POSTs to an app's request URL.
 * Field names follow @slack/bolt's `SlashCommand` and `BlockAction` types.
 */

/** Fields of a slash-command body that tests may override (see bolt's `SlashCommand`). */
export interface SlashCommandFields {
  token: string;
  command: string;
  text: string;
  user_id: string;
  user_name: string;
  team_id: string;
  team_domain: string;
  enterprise_id: string;
  enterprise_name: string;
  channel_id: string;
  channel_name: string;
  api_app_id: string;
  is_enterprise_install: string;
  response_url: string;
  trigger_id: string;
}

/** Defaults shared by the factories. */
export const SLACK_DEFAULTS = {
  token: 'legacy-verification-token',
  teamId: 'T0TEAM',
  teamDomain: 'fake',
  channelId: 'C0GENERAL',
  channelName: 'general',
  apiAppId: 'A0APP',
  userId: 'U0ALICE',
  userName: 'alice',
  messageTs: '1700000000.000100',
} as const;

let triggerCounter = 0;

/** A fresh, unique, Slack-shaped trigger id. */
export function nextTriggerId(): string {
  triggerCounter += 1;
  return `${1700000000 + triggerCounter}.1234567890.${triggerCounter.toString(16).padStart(32, '0')}`;
}

/** Drops keys whose value is `undefined` so they do not clobber defaults. */
function defined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * URL-encoded slash-command body as Slack sends it (`token=…&team_id=…&command=%2Fjit&…`).
 * Defaults: `/jit` with empty text from U0ALICE in C0GENERAL of T0TEAM, app A0APP,
 * a hooks.slack.com `response_url` and a unique `trigger_id`.
 * `enterprise_id`/`enterprise_name` are only included when given.
 */
export function slashCommandBody(overrides: Partial<SlashCommandFields> = {}): string {
  const o = defined(overrides);
  const teamId = o.team_id ?? SLACK_DEFAULTS.teamId;
  const fields: Array<[keyof SlashCommandFields, string | undefined]> = [
    ['token', o.token ?? SLACK_DEFAULTS.token],
    ['team_id', teamId],
    ['team_domain', o.team_domain ?? SLACK_DEFAULTS.teamDomain],
    ['enterprise_id', o.enterprise_id],
    ['enterprise_name', o.enterprise_name],
    ['channel_id', o.channel_id ?? SLACK_DEFAULTS.channelId],
    ['channel_name', o.channel_name ?? SLACK_DEFAULTS.channelName],
    ['user_id', o.user_id ?? SLACK_DEFAULTS.userId],
    ['user_name', o.user_name ?? SLACK_DEFAULTS.userName],
    ['command', o.command ?? '/jit'],
    ['text', o.text ?? ''],
    ['api_app_id', o.api_app_id ?? SLACK_DEFAULTS.apiAppId],
    ['is_enterprise_install', o.is_enterprise_install ?? 'false'],
    [
      'response_url',
      o.response_url ?? `https://hooks.slack.com/commands/${teamId}/1234567890123/abcdefABCDEF0123456789`,
    ],
    ['trigger_id', o.trigger_id ?? nextTriggerId()],
  ];
  const params = new URLSearchParams();
  for (const [key, value] of fields) if (value !== undefined) params.append(key, value);
  return params.toString();
}

/** Inputs for {@link blockActionsPayload} / {@link blockActionsBody}. */
export interface BlockActionsInput {
  userId: string;
  actionId: string;
  value: string;
  /** Default `jit_request`. */
  blockId?: string;
  /** Default C0GENERAL. */
  channelId?: string;
  /** Default `general`. */
  channelName?: string;
  /** ts of the message carrying the button. Default `1700000000.000100`. */
  messageTs?: string;
  /** Default T0TEAM. */
  teamId?: string;
  /** Default a hooks.slack.com actions URL. */
  responseUrl?: string;
  /** Username of the clicking user. Default: the user id lowercased. */
  userName?: string;
  /** Button label. Default `Approve`. */
  buttonText?: string;
  /** Text of the message carrying the button. Default `Access request`. */
  messageText?: string;
  /** Blocks of the message carrying the button. Default `[]`. */
  messageBlocks?: unknown[];
  /** Default: a fresh unique trigger id. */
  triggerId?: string;
}

/**
 * A realistic `block_actions` payload object for a button click on a (non-ephemeral)
 * channel message. See {@link blockActionsBody} for the encoded request body.
 */
export function blockActionsPayload(input: BlockActionsInput): Record<string, unknown> {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const channelId = input.channelId ?? SLACK_DEFAULTS.channelId;
  const messageTs = input.messageTs ?? SLACK_DEFAULTS.messageTs;
  const blockId = input.blockId ?? 'jit_request';
  const userName = input.userName ?? input.userId.toLowerCase();
  const actionTs = (Date.now() / 1000).toFixed(6);
  return {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: SLACK_DEFAULTS.apiAppId,
    token: SLACK_DEFAULTS.token,
    container: { type: 'message', message_ts: messageTs, channel_id: channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? nextTriggerId(),
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channelId, name: input.channelName ?? SLACK_DEFAULTS.channelName },
    message: {
      type: 'message',
      subtype: 'bot_message',
      text: input.messageText ?? 'Access request',
      ts: messageTs,
      bot_id: 'B0BOT',
      user: 'U0BOT',
      blocks: input.messageBlocks ?? [],
    },
    state: { values: {} },
    response_url: input.responseUrl ?? `https://hooks.slack.com/actions/${teamId}/1234567890123/abcdefABCDEF0123456789`,
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: blockId,
        value: input.value,
        action_ts: actionTs,
        text: { type: 'plain_text', text: input.buttonText ?? 'Approve', emoji: true },
      },
    ],
  };
}

/** Request body Slack sends for a button click: `payload=<urlencoded JSON>` of {@link blockActionsPayload}. */
export function blockActionsBody(input: BlockActionsInput): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(input)) }).toString();
}
