/**
 * Identifiers shared by the listeners and the Block Kit builders. The manifest declares the command, the shortcut
 * and the events; a test fails when a listener is registered that the manifest does not declare.
 */
export const SLASH_COMMAND = '/jit';

/** Buttons and menus (`action_id`). */
export const ACTION_IDS = {
  approve: 'jit_approve',
  deny: 'jit_deny',
  /** Approval message and escalation DM: the duration the approver approves for (at most the one asked for). */
  approvalDuration: 'jit_approval_duration',
  /** On an alert in the admin channel: run a failing revocation now. */
  retryRevocation: 'jit_retry_revocation',
  /** On a break-glass alert: an admin records the after-the-fact review. */
  reviewBreakGlass: 'jit_review_break_glass',
  /** App Home: open the request modal. */
  openRequestModal: 'jit_open_request_modal',
  /** App Home and the expiry reminder: ask for more time on an active grant. */
  extend: 'jit_extend',
  /** App Home and the expiry reminder: "I'm done", end an active grant now. */
  done: 'jit_done',
  /** App Home: withdraw a pending request. */
  cancel: 'jit_cancel',
  /** Request modal: the role menu, which redraws the duration menu with that role's limits. */
  pickRole: 'jit_pick_role',
  /** Request modal: more roles to ask for in the same request (a bundle), a multi-select. */
  pickMoreRoles: 'jit_pick_more_roles',
} as const;

/** Modals (`callback_id`). */
export const VIEW_IDS = {
  request: 'jit_request_modal',
  deny: 'jit_deny_modal',
  extend: 'jit_extend_modal',
} as const;

/** Global shortcuts (`callback_id`), declared under `features.shortcuts` in the manifest. */
export const SHORTCUT_IDS = {
  requestAccess: 'jit_request_access',
} as const;

/** Events API events the bot subscribes to, declared under `settings.event_subscriptions.bot_events`. */
export const EVENT_NAMES = {
  appHomeOpened: 'app_home_opened',
  /** A user group's members changed: its cached members are dropped. */
  subteamMembersChanged: 'subteam_members_changed',
} as const;

/**
 * `block_id`s of the modals' input blocks. The duration and reason elements use the same string as their
 * `action_id`; the role menu's `action_id` is {@link ACTION_IDS.pickRole}.
 */
export const INPUT_IDS = {
  role: 'role',
  duration: 'duration',
  reason: 'reason',
  /** The request form's optional scheduled start (a datetimepicker). */
  start: 'start',
  /** The request form's optional further roles, granted with the first as one bundle. */
  moreRoles: 'more_roles',
} as const;
