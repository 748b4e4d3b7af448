import type { App, BlockAction } from '@slack/bolt';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import { handleDecisionClick } from './decision-click';

/** Deny button on an approval message. */
export function registerDenyAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.deny, (args) =>
    handleDecisionClick(args, deps, (requestId, actorId, click) => deps.requests.deny(requestId, actorId, click)),
  );
}
