import type { App, BlockAction } from '@slack/bolt';
import { denyModal } from '../blocks/decision-modals';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import type { DenyMetadata } from '../views/deny-submission';
import { handleRequestButton } from './decision-click';

/**
 * Deny opens a small modal for an optional reason the requester will see. The click is checked first, so someone
 * who may not deny is told at once; the submission (`views/deny-submission.ts`) decides.
 */
export function registerDenyAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.deny, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.checkMayDecide(requestId, actorId, 'deny', click);
      const metadata: DenyMetadata = {
        requestId,
        ...(click.message !== undefined && { channel: click.message.channel, ts: click.message.ts }),
        ...(click.fromAppHome && { fromAppHome: true }),
        ...(click.fromDirectMessage && { fromDirectMessage: true }),
      };
      await args.client.views.open({
        trigger_id: args.body.trigger_id,
        view: denyModal(request, JSON.stringify(metadata)),
      });
      return undefined;
    }),
  );
}
