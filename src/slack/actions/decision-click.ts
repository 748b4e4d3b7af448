import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { DomainError, isDomainError } from '../../domain/errors';
import type { ClickContext } from '../../domain/request-service';
import { answerFailure } from '../error-reporter';
import type { SlackDeps } from '../slack-deps';

/** A button's value is only ever a request ID; anything else is refused before reaching the domain. */
const buttonValueSchema = z.string().regex(/^[a-z0-9]{1,64}$/);

export type DecisionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/**
 * The shared shape of Approve and Deny: acknowledge at once, decide with the signed user ID and the stored
 * request, and tell the clicker privately if the click was refused (redrawing a stale message).
 */
export async function handleDecisionClick(
  args: DecisionArgs,
  deps: SlackDeps,
  decide: (requestId: string, actorId: string, click: ClickContext) => Promise<unknown>,
): Promise<void> {
  await args.ack();
  const { body, action, client } = args;
  const actorId = body.user.id;
  const channelId = body.channel?.id ?? body.container?.channel_id;
  const context = {
    action: 'action_id' in action ? action.action_id : 'unknown',
    userId: actorId,
    teamId: body.team?.id,
  };
  const value = buttonValueSchema.safeParse('value' in action ? action.value : undefined);
  if (!value.success) {
    deps.logger.warn(context, 'refused: button value is not a request ID');
    const refusal = new DomainError('stale_click', 'The button does not carry a request ID.', {});
    await answerFailure(refusal, deps, { actorId, action: context.action }, context);
    return;
  }
  try {
    const messageTs = body.message?.ts ?? body.container?.message_ts;
    const click: ClickContext = {
      ...(body.team?.id !== undefined && { teamId: body.team.id }),
      ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
      ...(channelId !== undefined && messageTs !== undefined && { message: { channel: channelId, ts: messageTs } }),
    };
    await decide(value.data, actorId, click);
  } catch (error) {
    const text = await answerFailure(
      error,
      deps,
      { actorId, action: context.action },
      { ...context, requestId: value.data },
    );
    if (isDomainError(error) && error.code === 'invalid_state') {
      await deps.requests.refreshApprovalMessage(value.data);
    }
    if (channelId !== undefined) {
      await client.chat.postEphemeral({ channel: channelId, user: actorId, text }).catch((postError: unknown) => {
        deps.logger.warn({ ...context, err: postError }, 'could not tell the clicker why their click was refused');
      });
    }
  }
}
