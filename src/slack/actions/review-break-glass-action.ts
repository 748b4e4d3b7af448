import type { App, BlockAction } from '@slack/bolt';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import { handleDecisionClick } from './decision-click';

/** "Mark reviewed" on a break-glass alert in the admin channel; admins only. */
export function registerReviewBreakGlassAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.reviewBreakGlass, (args) =>
    handleDecisionClick(args, deps, async (requestId, actorId) => {
      const request = await deps.requests.reviewBreakGlass(requestId, actorId);
      const channel = args.body.channel?.id;
      if (channel !== undefined) {
        await args.client.chat.postMessage({
          channel,
          ...(args.body.message?.ts !== undefined && { thread_ts: args.body.message.ts }),
          text: `:white_check_mark: <@${actorId}> reviewed the break-glass access of <@${request.requesterId}> to *${request.roleId}* (\`${request.id}\`).`,
        });
      }
    }),
  );
}
