import type { App, BlockAction } from '@slack/bolt';
import { extendModal } from '../blocks/decision-modals';
import { roleNames } from '../blocks/format';
import { ACTION_IDS } from '../ids';
import type { SlackDeps } from '../slack-deps';
import type { ExtendMetadata } from '../views/extend-submission';
import { handleRequestButton } from './decision-click';

/**
 * The requester's buttons on their own grants and requests: Extend, I'm done, Cancel (App Home, reminder DM). Extend
 * opens a modal whose submission is `views/extend-submission.ts`.
 */
export function registerGrantActions(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.extend, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId) => {
      const options = await deps.requests.extensionOptions(requestId, actorId);
      const metadata: ExtendMetadata = { requestId };
      await args.client.views.open({
        trigger_id: args.body.trigger_id,
        view: extendModal({ ...options, privateMetadata: JSON.stringify(metadata) }),
      });
      return undefined;
    }),
  );

  app.action<BlockAction>(ACTION_IDS.done, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.revoke(requestId, actorId);
      // The App Home redraws at once to show it ending; elsewhere (the reminder DM) say so.
      return click.fromAppHome
        ? undefined
        : `:no_entry_sign: Ending your access to *${roleNames(request)}* now; you get a DM when it is removed.`;
    }),
  );

  app.action<BlockAction>(ACTION_IDS.cancel, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.cancel(requestId, actorId);
      return click.fromAppHome ? undefined : `:heavy_minus_sign: Request \`${request.id}\` is cancelled.`;
    }),
  );
}
