import type { App, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { isDomainError } from '../../domain/errors';
import type { ClickContext } from '../../domain/request-service';
import { answerViewSubmission } from '../ack-deadline';
import { answerFailure } from '../error-reporter';
import { INPUT_IDS, VIEW_IDS } from '../ids';
import { inlineError, requestIdValueSchema, viewInput, viewMetadata } from '../interaction';
import type { SlackDeps } from '../slack-deps';

/** What the deny modal carries from the click to the submission: the request and where Deny was clicked. */
export const denyMetadataSchema = z
  .object({
    requestId: requestIdValueSchema,
    channel: z.string().optional(),
    ts: z.string().optional(),
    fromAppHome: z.boolean().optional(),
    fromDirectMessage: z.boolean().optional(),
  })
  .strict();
export type DenyMetadata = z.infer<typeof denyMetadataSchema>;

/**
 * The deny modal's submission decides, checked again against the request as it is then. A refusal known in time
 * shows next to the reason field; one known later comes as a DM (a success already shows on the approval message).
 */
export function registerDenySubmission(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(VIEW_IDS.deny, async ({ ack, body, view, client }) => {
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
      ...(metadata.fromDirectMessage && { fromDirectMessage: true }),
    };
    const refusal = async (error: unknown) => {
      const text = await answerFailure(
        error,
        deps,
        { actorId, action: 'deny' },
        { ...context, requestId: metadata.requestId },
      );
      if (isDomainError(error) && error.code === 'invalid_state')
        await deps.requests.refreshApprovalMessage(metadata.requestId);
      return text;
    };
    const work = deps.requests.deny(
      metadata.requestId,
      actorId,
      click,
      viewInput(view.state.values, INPUT_IDS.reason, INPUT_IDS.reason) ?? '',
    );
    await answerViewSubmission(work, {
      ack,
      client,
      userId: actorId,
      logger: deps.logger,
      form: 'deny form',
      inForm: async (outcome) =>
        outcome.ok
          ? undefined
          : { response_action: 'errors', errors: { [INPUT_IDS.reason]: inlineError(await refusal(outcome.error)) } },
      inDm: async (outcome) => (outcome.ok ? undefined : refusal(outcome.error)),
    });
  });
}
