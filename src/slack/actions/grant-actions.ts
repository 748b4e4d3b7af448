import type { App, BlockAction } from '@slack/bolt';
import { z } from 'zod';
import { formatDuration } from '../../domain/duration';
import { isDomainError } from '../../domain/errors';
import { extendModal } from '../blocks/decision-modals';
import { infoModal } from '../blocks/info-modal';
import { answerFailure } from '../error-reporter';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../ids';
import { inlineError, requestIdValueSchema, viewInput, viewMetadata } from '../interaction';
import type { SlackDeps } from '../slack-deps';
import { handleRequestButton } from './decision-click';

const extendMetadataSchema = z.object({ requestId: requestIdValueSchema }).strict();

/** The requester's buttons on their own grants and requests: Extend, I'm done, Cancel (App Home, reminder DM). */
export function registerGrantActions(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.extend, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId) => {
      const options = await deps.requests.extensionOptions(requestId, actorId);
      await args.client.views.open({
        trigger_id: args.body.trigger_id,
        view: extendModal({ ...options, privateMetadata: JSON.stringify({ requestId }) }),
      });
      return undefined;
    }),
  );

  app.view(VIEW_IDS.extend, async ({ ack, body, view }) => {
    const actorId = body.user.id;
    const metadata = viewMetadata(extendMetadataSchema, view.private_metadata);
    const duration = viewInput(view.state.values, INPUT_IDS.duration, INPUT_IDS.duration);
    if (!metadata || duration === undefined) {
      await ack({
        response_action: 'errors',
        errors: {
          [INPUT_IDS.duration]: metadata
            ? 'Choose how much more time.'
            : 'This form is out of date; close it and click Extend again.',
        },
      });
      return;
    }
    const reason = viewInput(view.state.values, INPUT_IDS.reason, INPUT_IDS.reason);
    try {
      const { request, role } = await deps.requests.requestExtension({
        requesterId: actorId,
        teamId: body.team?.id ?? body.user.team_id ?? '',
        ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
        requestId: metadata.requestId,
        duration,
        ...(reason !== undefined && { reason }),
      });
      const extra = formatDuration(request.durationMs);
      const text =
        request.state === 'pending'
          ? `:inbox_tray: Extension \`${request.id}\` asks for ${extra} more on \`${metadata.requestId}\`; approvers of *${role.id}* decide${role.approvalChannel ? ` in <#${role.approvalChannel}>` : ''}. Your access continues meanwhile, and you get a DM when it is decided.`
          : `:arrows_clockwise: Adding ${extra} to \`${metadata.requestId}\` now; you get a DM with the new expiry.`;
      await ack({ response_action: 'update', view: infoModal('Extension asked', text) });
    } catch (error) {
      const text = await answerFailure(
        error,
        deps,
        { actorId, action: 'extend' },
        { userId: actorId, requestId: metadata.requestId },
      );
      const field = isDomainError(error) && error.code === 'missing_ticket' ? INPUT_IDS.reason : INPUT_IDS.duration;
      await ack({ response_action: 'errors', errors: { [field]: inlineError(text) } });
    }
  });

  app.action<BlockAction>(ACTION_IDS.done, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.revoke(requestId, actorId);
      // The App Home redraws at once to show it ending; elsewhere (the reminder DM) say so.
      return click.fromAppHome
        ? undefined
        : `:no_entry_sign: Ending your access to *${request.roleId}* now; you get a DM when it is removed.`;
    }),
  );

  app.action<BlockAction>(ACTION_IDS.cancel, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.cancel(requestId, actorId);
      return click.fromAppHome ? undefined : `:heavy_minus_sign: Request \`${request.id}\` is cancelled.`;
    }),
  );
}
