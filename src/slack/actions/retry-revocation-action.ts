import type { App, BlockAction } from '@slack/bolt';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import { handleDecisionClick } from './decision-click';

/** "Retry now" on a failing-revocation alert in the admin channel; admins only. */
export function registerRetryRevocationAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.retryRevocation, (args) =>
    handleDecisionClick(args, deps, async (requestId, actorId) => {
      await deps.requests.retryRevocation(requestId, actorId);
      const channel = args.body.channel?.id;
      if (channel !== undefined) {
        await args.client.chat.postEphemeral({
          channel,
          user: actorId,
          text: `:arrows_counterclockwise: Retrying the revocation of \`${requestId}\` now.`,
        });
      }
    }),
  );
}
