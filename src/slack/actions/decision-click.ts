import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { isDomainError } from '../../domain/errors';
import { describeForPerson } from '../error-reporter';
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
  decide: (requestId: string, actorId: string) => Promise<unknown>,
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
    return;
  }
  try {
    await decide(value.data, actorId);
  } catch (error) {
    const text = describeForPerson(error, deps.logger, { ...context, requestId: value.data });
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
