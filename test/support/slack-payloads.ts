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
  /** The message's menus as the clicker left them (`state.values`), which Slack sends with every click. */
  stateValues?: Record<string, Record<string, ViewStateInput>>;
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
    state: { values: input.stateValues ?? {} },
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

/** A view (modal or App Home) as Slack echoes it in interaction payloads. */
export interface ViewRef {
  id: string;
  type: 'modal' | 'home';
  callbackId?: string;
  privateMetadata?: string;
  hash?: string;
  /** `state.values`: block ID → action ID → typed value or chosen option. */
  values?: Record<string, Record<string, ViewStateInput>>;
}

/** One input's state as Slack reports it. */
export type ViewStateInput =
  | { type: 'plain_text_input'; value: string | null }
  | { type: 'static_select' | 'external_select'; selected_option: { value: string; text?: unknown } | null }
  /** docs.slack.dev/reference/block-kit/block-elements/multi-select-menu-element: every option chosen. */
  | { type: 'multi_static_select' | 'multi_external_select'; selected_options: { value: string; text?: unknown }[] }
  /** docs.slack.dev/reference/block-kit/block-elements/datetime-picker-element: a Unix timestamp in seconds. */
  | { type: 'datetimepicker'; selected_date_time: number | null };

function viewPayload(view: ViewRef, teamId: string): Record<string, unknown> {
  return {
    id: view.id,
    team_id: teamId,
    type: view.type,
    callback_id: view.callbackId ?? '',
    private_metadata: view.privateMetadata ?? '',
    hash: view.hash ?? `${Date.now()}.hash`,
    app_id: SLACK_DEFAULTS.apiAppId,
    bot_id: 'B0BOT',
    blocks: [],
    state: { values: view.values ?? {} },
    title: { type: 'plain_text', text: 'JIT' },
    close: null,
    submit: null,
    root_view_id: view.id,
    previous_view_id: null,
    clear_on_close: false,
    notify_on_close: false,
  };
}

/** `block_actions` for a button or menu inside a view (the App Home, or a modal), as Slack sends it. */
export function viewBlockActionsBody(input: {
  userId: string;
  view: ViewRef;
  actionId: string;
  /** A button's value, or the chosen option of a static or external select. */
  value: string;
  kind?: 'button' | 'static_select' | 'external_select';
  blockId?: string;
  triggerId?: string;
  teamId?: string;
}): string {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const action =
    input.kind === 'static_select' || input.kind === 'external_select'
      ? {
          type: input.kind,
          selected_option: { text: { type: 'plain_text', text: input.value }, value: input.value },
        }
      : { type: 'button', value: input.value, text: { type: 'plain_text', text: input.actionId } };
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: input.userId.toLowerCase(), name: input.userId.toLowerCase(), team_id: teamId },
    api_app_id: SLACK_DEFAULTS.apiAppId,
    token: SLACK_DEFAULTS.token,
    container: { type: 'view', view_id: input.view.id },
    trigger_id: input.triggerId ?? nextTriggerId(),
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view: viewPayload(input.view, teamId),
    actions: [
      {
        ...action,
        action_id: input.actionId,
        block_id: input.blockId ?? 'block',
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** `view_submission` for a modal, as Slack sends it when the person presses its submit button. */
export function viewSubmissionBody(input: { userId: string; view: ViewRef; teamId?: string }): string {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    user: { id: input.userId, username: input.userId.toLowerCase(), name: input.userId.toLowerCase(), team_id: teamId },
    api_app_id: SLACK_DEFAULTS.apiAppId,
    token: SLACK_DEFAULTS.token,
    trigger_id: nextTriggerId(),
    view: viewPayload(input.view, teamId),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/**
 * `block_suggestion` for a select menu of external data source inside a view, as Slack sends it to the options
 * load URL each time the menu opens or the typed text changes (docs.slack.dev/reference/interaction-payloads/
 * block_suggestion-payload).
 */
export function blockSuggestionBody(input: {
  userId: string;
  view: ViewRef;
  actionId: string;
  blockId: string;
  /** What was typed so far. */
  value: string;
  teamId?: string;
}): string {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const payload = {
    type: 'block_suggestion',
    user: { id: input.userId, username: input.userId.toLowerCase(), name: input.userId.toLowerCase(), team_id: teamId },
    container: { type: 'view', view_id: input.view.id },
    api_app_id: SLACK_DEFAULTS.apiAppId,
    token: SLACK_DEFAULTS.token,
    action_id: input.actionId,
    block_id: input.blockId,
    value: input.value,
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view: viewPayload(input.view, teamId),
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A global shortcut, as Slack sends it. */
export function shortcutBody(input: {
  userId: string;
  callbackId: string;
  triggerId?: string;
  teamId?: string;
}): string {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const payload = {
    type: 'shortcut',
    token: SLACK_DEFAULTS.token,
    action_ts: (Date.now() / 1000).toFixed(6),
    team: { id: teamId, domain: SLACK_DEFAULTS.teamDomain },
    user: { id: input.userId, username: input.userId.toLowerCase(), team_id: teamId },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: input.callbackId,
    trigger_id: input.triggerId ?? nextTriggerId(),
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** An Events API callback (JSON body), e.g. `app_home_opened`. */
export function eventCallbackBody(event: Record<string, unknown>, teamId: string = SLACK_DEFAULTS.teamId): string {
  return JSON.stringify({
    token: SLACK_DEFAULTS.token,
    team_id: teamId,
    api_app_id: SLACK_DEFAULTS.apiAppId,
    event: { event_ts: (Date.now() / 1000).toFixed(6), ...event },
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: teamId, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
  });
}

/** Slack's `subteam_members_changed`, as documented: the group and the delta, no snapshot of its members. */
export function subteamMembersChangedBody(subteamId: string, change: { added?: string[]; removed?: string[] }): string {
  const added = change.added ?? [];
  const removed = change.removed ?? [];
  return eventCallbackBody({
    type: 'subteam_members_changed',
    subteam_id: subteamId,
    team_id: 'T0TEAM',
    date_previous_update: 1_700_000_000,
    date_update: 1_700_000_100,
    added_users: added,
    added_users_count: String(added.length),
    removed_users: removed,
    removed_users_count: String(removed.length),
  });
}
