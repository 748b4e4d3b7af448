import type { BlockAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { PersonalOverview } from '../domain/ports';
import { isRequestId } from '../domain/request-id';
import type { ClickContext } from '../domain/request-service';
import { appHomeView } from './blocks/app-home';
import { infoModal } from './blocks/info-modal';
import type { SlackDeps } from './slack-deps';

/** A button's value is only ever a request ID; anything else is refused before reaching the domain. */
export const requestIdValueSchema = z.string().refine(isRequestId);

/** Where a signed click came from and what it sits on: a message, or the clicker's own App Home. */
export function clickContextOf(body: BlockAction): ClickContext {
  const channelId = body.channel?.id ?? body.container?.channel_id;
  const messageTs = body.message?.ts ?? body.container?.message_ts;
  return {
    ...(body.team?.id !== undefined && { teamId: body.team.id }),
    ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
    ...(channelId !== undefined && messageTs !== undefined && { message: { channel: channelId, ts: messageTs } }),
    ...(body.view?.type === 'home' && { fromAppHome: true }),
    // Direct-message channel IDs start with D: the bot's DM with the clicker, which only they see.
    ...(body.view === undefined && channelId?.startsWith('D') === true && { fromDirectMessage: true }),
  };
}

/**
 * Tells the clicker something privately: an ephemeral message where the button sits in a conversation, a small
 * modal where it sits in the App Home or a modal (no ephemeral can appear there).
 */
export async function tellClicker(
  body: BlockAction,
  client: WebClient,
  title: string,
  text: string,
  deps: SlackDeps,
): Promise<void> {
  const channelId = body.channel?.id ?? body.container?.channel_id;
  const sent =
    body.view === undefined && channelId !== undefined
      ? client.chat.postEphemeral({ channel: channelId, user: body.user.id, text })
      : client.views.open({ trigger_id: body.trigger_id, view: infoModal(title, text) });
  await sent.catch((error: unknown) => {
    deps.logger.warn({ err: error, userId: body.user.id }, 'could not tell the clicker the outcome of their click');
  });
}

/** Publishes one person's App Home. */
export async function publishAppHome(client: WebClient, overview: PersonalOverview): Promise<void> {
  await client.views.publish({ user_id: overview.userId, view: appHomeView(overview) });
}

/** Redraws the clicker's App Home at once after a click there, instead of waiting for the notice. */
export async function refreshClickerHome(body: BlockAction, client: WebClient, deps: SlackDeps): Promise<void> {
  if (body.view?.type !== 'home') return;
  try {
    // A click there shows they look at it, even if the bot missed their app_home_opened (say, in an outage).
    await publishAppHome(client, await deps.overview.openedBy(body.user.id));
  } catch (error) {
    deps.logger.warn({ err: error, userId: body.user.id }, 'could not redraw the App Home after a click');
  }
}

const viewStateSchema = z.record(
  z.string(),
  z.record(
    z.string(),
    z.object({
      value: z.string().nullish(),
      selected_option: z.object({ value: z.string() }).nullish(),
      /** A multi-select's choices. */
      selected_options: z.array(z.object({ value: z.string() })).nullish(),
      /** A datetimepicker's choice: a Unix timestamp in seconds. */
      selected_date_time: z.number().nullish(),
    }),
  ),
);

/** What a modal's input holds: typed text, or the chosen option's value; undefined when empty or missing. */
export function viewInput(values: unknown, blockId: string, actionId: string): string | undefined {
  const parsed = viewStateSchema.safeParse(values);
  if (!parsed.success) return undefined;
  const input = parsed.data[blockId]?.[actionId];
  const value = input?.selected_option?.value ?? input?.value ?? undefined;
  return value === null || value === undefined || value.trim() === '' ? undefined : value;
}

/** The values chosen in a modal's multi-select, in the order shown; empty when nothing was chosen. */
export function viewMultiInput(values: unknown, blockId: string, actionId: string): string[] {
  const parsed = viewStateSchema.safeParse(values);
  if (!parsed.success) return [];
  return (parsed.data[blockId]?.[actionId]?.selected_options ?? []).map((option) => option.value);
}

/** What a modal's datetimepicker holds, in epoch milliseconds; undefined when nothing was picked. */
export function viewDateTime(values: unknown, blockId: string, actionId: string): number | undefined {
  const parsed = viewStateSchema.safeParse(values);
  if (!parsed.success) return undefined;
  const seconds = parsed.data[blockId]?.[actionId]?.selected_date_time;
  return typeof seconds === 'number' ? seconds * 1000 : undefined;
}

/** A modal's `private_metadata` read back with its schema; undefined when it does not match (an old form). */
export function viewMetadata<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A message for a modal field's inline error, which shows plain text: without the leading emoji code. */
export function inlineError(text: string): string {
  return text.replace(/^:[a-z_]+: /, '');
}
