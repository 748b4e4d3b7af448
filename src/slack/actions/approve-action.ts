import type { App, BlockAction } from '@slack/bolt';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import { handleDecisionClick } from './decision-click';

/** Approve button on an approval message. */
export function registerApproveAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.approve, (args) =>
    handleDecisionClick(args, deps, (requestId, actorId, click) => deps.requests.approve(requestId, actorId, click)),
  );
}
