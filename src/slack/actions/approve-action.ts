import type { App, BlockAction } from '@slack/bolt';
import { parseDuration } from '../../domain/duration';
import { approvalDurationBlockId } from '../blocks/approval-duration';
import { ACTION_IDS } from '../ids';
import { viewInput } from '../interaction';
import type { SlackDeps } from '../slack-deps';
import { handleDecisionClick } from './decision-click';

/**
 * Approve button on an approval message, an escalation DM or the App Home. Where the message offers the
 * "Approve for" menu, Slack sends its choice with the click (`state.values`), and that is the duration approved
 * for; the domain refuses one longer than asked or below the minimum.
 */
export function registerApproveAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.approve, (args) =>
    handleDecisionClick(args, deps, (requestId, actorId, click) => {
      const chosen = viewInput(
        args.body.state?.values,
        approvalDurationBlockId(requestId),
        ACTION_IDS.approvalDuration,
      );
      return deps.requests.approve(requestId, actorId, click, chosen === undefined ? undefined : parseDuration(chosen));
    }),
  );
}
