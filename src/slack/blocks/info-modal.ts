import type { ModalView } from '@slack/types';

/** Slack cuts modal titles at 24 characters. */
const MAX_TITLE_LENGTH = 24;

/** A modal that only says something, for answers to clicks where no ephemeral message can appear (App Home). */
export function infoModal(title: string, text: string): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: title.slice(0, MAX_TITLE_LENGTH) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}
