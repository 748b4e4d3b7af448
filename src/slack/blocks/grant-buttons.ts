import type { Button } from '@slack/types';
import type { AccessRequest } from '../../domain/access-request';
import { ACTION_IDS } from '../ids';
import { roleNames } from './format';

/** A button acting on one request: its value is the request ID, which is all the listeners accept. */
function requestButton(
  actionId: string,
  label: string,
  request: AccessRequest,
  extra: Pick<Button, 'style' | 'confirm'> = {},
): Button {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: label },
    value: request.id,
    ...extra,
  };
}

/** The holder's buttons on an active grant, shared by the App Home and the expiry reminder. */
export function extendButton(request: AccessRequest): Button {
  return requestButton(ACTION_IDS.extend, 'Extend', request);
}

export function doneButton(request: AccessRequest): Button {
  return requestButton(ACTION_IDS.done, "I'm done", request, {
    style: 'danger',
    confirm: {
      title: { type: 'plain_text', text: 'End access now?' },
      text: { type: 'mrkdwn', text: `Your access to *${roleNames(request)}* is removed right away.` },
      confirm: { type: 'plain_text', text: 'End it' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  });
}

export function cancelButton(request: AccessRequest): Button {
  return requestButton(ACTION_IDS.cancel, 'Cancel', request, {
    confirm: {
      title: { type: 'plain_text', text: 'Cancel the request?' },
      text: { type: 'mrkdwn', text: `Request \`${request.id}\` is withdrawn; approvers see it cancelled.` },
      confirm: { type: 'plain_text', text: 'Cancel it' },
      deny: { type: 'plain_text', text: 'Keep it' },
    },
  });
}

export function approveButton(request: AccessRequest): Button {
  return requestButton(ACTION_IDS.approve, 'Approve', request, { style: 'primary' });
}

export function denyButton(request: AccessRequest): Button {
  return requestButton(ACTION_IDS.deny, 'Deny', request, { style: 'danger' });
}

/** Time left, rounded down to the minute and never shown as zero while access lasts. */
export function timeLeftMs(request: AccessRequest, now: number): number {
  return Math.max(60_000, Math.floor(((request.expiresAt ?? now) - now) / 60_000) * 60_000);
}
