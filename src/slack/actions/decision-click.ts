import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { DomainError, isDomainError } from '../../domain/errors';
import type { ClickContext } from '../../domain/request-service';
import { answerFailure } from '../error-reporter';
import { clickContextOf, refreshClickerHome, requestIdValueSchema, tellClicker } from '../interaction';
import type { SlackDeps } from '../slack-deps';

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/**
 * The shared shape of every button that acts on one request (Approve, Deny, Extend, I'm done, Cancel, the admin
 * buttons): acknowledge at once, act with the signed user ID and the stored request, and tell the clicker
 * privately if the click was refused (redrawing a stale approval message).
 * @param act returns what to tell the clicker on success, if anything.
 */
export async function handleRequestButton(
  args: ButtonArgs,
  deps: SlackDeps,
  act: (requestId: string, actorId: string, click: ClickContext) => Promise<string | undefined>,
): Promise<void> {
  await args.ack();
  const { body, action, client } = args;
  const actorId = body.user.id;
  const context = {
    action: 'action_id' in action ? action.action_id : 'unknown',
    userId: actorId,
    teamId: body.team?.id,
  };
  const value = requestIdValueSchema.safeParse('value' in action ? action.value : undefined);
  if (!value.success) {
    deps.logger.warn(context, 'refused: button value is not a request ID');
    // No request ID: the refusal names none, and the Slack wording for it says so.
    const refusal = new DomainError('stale_click', { action: context.action });
    const text = await answerFailure(refusal, deps, { actorId, action: context.action }, context);
    await tellClicker(body, client, 'Not done', text, deps);
    return;
  }
  try {
    const said = await act(value.data, actorId, clickContextOf(body));
    if (said !== undefined) await tellClicker(body, client, 'Done', said, deps);
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
    await tellClicker(body, client, 'Not done', text, deps);
  }
  await refreshClickerHome(body, client, deps);
}

/** Approve and Deny: a click that decides a request. */
export function handleDecisionClick(
  args: ButtonArgs,
  deps: SlackDeps,
  decide: (requestId: string, actorId: string, click: ClickContext) => Promise<unknown>,
): Promise<void> {
  return handleRequestButton(args, deps, async (requestId, actorId, click) => {
    await decide(requestId, actorId, click);
    return undefined;
  });
}
