import type { Button } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { ACTION_IDS } from '../ids';

/** The holder's buttons on an active grant, shared by the App Home and the expiry reminder. */
export function extendButton(request: AccessRequest): Button {
  return {
    type: 'button',
    action_id: ACTION_IDS.extend,
    text: { type: 'plain_text', text: 'Extend' },
    value: request.id,
  };
}

export function doneButton(request: AccessRequest): Button {
  return {
    type: 'button',
    action_id: ACTION_IDS.done,
    text: { type: 'plain_text', text: "I'm done" },
    style: 'danger',
    value: request.id,
    confirm: {
      title: { type: 'plain_text', text: 'End access now?' },
      text: { type: 'mrkdwn', text: `Your access to *${request.roleId}* is removed right away.` },
      confirm: { type: 'plain_text', text: 'End it' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  };
}

export function cancelButton(request: AccessRequest): Button {
  return {
    type: 'button',
    action_id: ACTION_IDS.cancel,
    text: { type: 'plain_text', text: 'Cancel' },
    value: request.id,
    confirm: {
      title: { type: 'plain_text', text: 'Cancel the request?' },
      text: { type: 'mrkdwn', text: `Request \`${request.id}\` is withdrawn; approvers see it cancelled.` },
      confirm: { type: 'plain_text', text: 'Cancel it' },
      deny: { type: 'plain_text', text: 'Keep it' },
    },
  };
}

export function approveButton(request: AccessRequest): Button {
  return {
    type: 'button',
    action_id: ACTION_IDS.approve,
    text: { type: 'plain_text', text: 'Approve' },
    style: 'primary',
    value: request.id,
  };
}

export function denyButton(request: AccessRequest): Button {
  return {
    type: 'button',
    action_id: ACTION_IDS.deny,
    text: { type: 'plain_text', text: 'Deny' },
    style: 'danger',
    value: request.id,
  };
}

/** Time left, rounded down to the minute and never shown as zero while access lasts. */
export function timeLeftMs(request: AccessRequest, now: number): number {
  return Math.max(60_000, Math.floor(((request.expiresAt ?? now) - now) / 60_000) * 60_000);
}
