import type { App, BlockAction } from '@slack/bolt';
import { ACTION_IDS } from '../ids';

/**
 * The "Approve for" menu: Slack sends each choice at once and shows an error unless it is acknowledged. Nothing is
 * decided here; the choice travels with the Approve click in the message's state.
 */
export function registerApprovalDurationAction(app: App): void {
  app.action<BlockAction>(ACTION_IDS.approvalDuration, async ({ ack }) => {
    await ack();
  });
}
