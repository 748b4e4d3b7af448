import type { App, BlockAction } from '@slack/bolt';
import { z } from 'zod';
import { isDomainError } from '../../domain/errors';
import type { ClickContext } from '../../domain/request-service';
import { denyModal } from '../blocks/decision-modals';
import { answerFailure } from '../error-reporter';
import { ACTION_IDS, INPUT_IDS, VIEW_IDS } from '../ids';
import { inlineError, viewInput, viewMetadata } from '../interaction';
import type { SlackDeps } from '../slack-deps';
import { handleRequestButton } from './decision-click';

/** What the deny modal carries from the click to the submission: the request and where Deny was clicked. */
const denyMetadataSchema = z
  .object({
    requestId: z.string().regex(/^[a-z0-9]{1,64}$/),
    channel: z.string().optional(),
    ts: z.string().optional(),
    fromAppHome: z.boolean().optional(),
  })
  .strict();
type DenyMetadata = z.infer<typeof denyMetadataSchema>;

/**
 * Deny opens a small modal for an optional reason the requester will see. The click is checked first, so someone
 * who may not deny is told at once; the submission decides, checked again against the request as it is then.
 */
export function registerDenyAction(app: App, deps: SlackDeps): void {
  app.action<BlockAction>(ACTION_IDS.deny, (args) =>
    handleRequestButton(args, deps, async (requestId, actorId, click) => {
      const request = await deps.requests.checkMayDecide(requestId, actorId, 'deny', click);
      const metadata: DenyMetadata = {
        requestId,
        ...(click.message !== undefined && { channel: click.message.channel, ts: click.message.ts }),
        ...(click.fromAppHome && { fromAppHome: true }),
      };
      await args.client.views.open({
        trigger_id: args.body.trigger_id,
        view: denyModal(request, JSON.stringify(metadata)),
      });
      return undefined;
    }),
  );

  app.view(VIEW_IDS.deny, async ({ ack, body, view }) => {
    const actorId = body.user.id;
    const context = { action: 'deny', userId: actorId, teamId: body.team?.id };
    const metadata = viewMetadata(denyMetadataSchema, view.private_metadata);
    if (!metadata) {
      deps.logger.warn(context, 'refused: deny modal without readable metadata');
      await ack({
        response_action: 'errors',
        errors: { [INPUT_IDS.reason]: 'This form is out of date; close it and click Deny again.' },
      });
      return;
    }
    const click: ClickContext = {
      // The workspace is Slack's word in the signed submission, not the metadata's.
      ...(body.team?.id !== undefined && { teamId: body.team.id }),
      ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
      ...(metadata.channel !== undefined &&
        metadata.ts !== undefined && { message: { channel: metadata.channel, ts: metadata.ts } }),
      ...(metadata.fromAppHome && { fromAppHome: true }),
    };
    try {
      await deps.requests.deny(
        metadata.requestId,
        actorId,
        click,
        viewInput(view.state.values, INPUT_IDS.reason, INPUT_IDS.reason) ?? '',
      );
      await ack();
    } catch (error) {
      const text = await answerFailure(
        error,
        deps,
        { actorId, action: 'deny' },
        { ...context, requestId: metadata.requestId },
      );
      if (isDomainError(error) && error.code === 'invalid_state')
        await deps.requests.refreshApprovalMessage(metadata.requestId);
      await ack({ response_action: 'errors', errors: { [INPUT_IDS.reason]: inlineError(text) } });
    }
  });
}
