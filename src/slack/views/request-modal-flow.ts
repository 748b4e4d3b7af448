import type { App, BlockAction, ExternalSelectAction, StaticSelectAction, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { DomainError, DomainErrorCode } from '../../domain/errors';
import { isDomainError } from '../../domain/errors';
import { answerViewSubmission, withinAckDeadline } from '../ack-deadline';
import { requestConfirmationText } from '../blocks/command-replies';
import { requestModal, requestSentView } from '../blocks/request-modal';
import { MORE_ROLES_VALUE, roleIdValueSchema, roleSuggestions } from '../blocks/role-options';
import { answerFailure } from '../error-reporter';
import { ACTION_IDS, INPUT_IDS, SHORTCUT_IDS, VIEW_IDS } from '../ids';
import { inlineError, viewDateTime, viewInput, viewMultiInput } from '../interaction';
import type { SlackDeps } from '../slack-deps';

/** What is already known when the form opens, e.g. from a `/jit request` that lacked a piece. */
export interface RequestPrefill {
  roleId?: string;
  duration?: string;
  reason?: string;
}

/** Opens the request modal with the roles this person may request, prefilled with what they already said. */
export async function openRequestModal(
  client: WebClient,
  triggerId: string,
  userId: string,
  prefill: RequestPrefill,
  deps: SlackDeps,
): Promise<void> {
  const form = await deps.requests.requestForm(userId);
  const known = prefill.roleId !== undefined && form.roles.some((role) => role.id === prefill.roleId);
  const note =
    prefill.roleId !== undefined && !known
      ? `You cannot request "${prefill.roleId}" (no such role, or not for you); pick one of yours below.`
      : known && prefill.reason === undefined
        ? 'Say why you need it to finish the request.'
        : undefined;
  await client.views.open({
    trigger_id: triggerId,
    view: requestModal({
      roles: form.roles,
      minDurationMs: form.minDurationMs,
      ...(known && { selectedRoleId: prefill.roleId }),
      ...(prefill.duration !== undefined && { duration: prefill.duration }),
      ...(prefill.reason !== undefined && { reason: prefill.reason }),
      ...(note !== undefined && { note }),
    }),
  });
}

/** The form field a refusal is about, so the error shows next to it. */
const FIELD_OF: Partial<Record<DomainErrorCode, string>> = {
  unknown_role: INPUT_IDS.role,
  role_not_requestable: INPUT_IDS.role,
  invalid_duration: INPUT_IDS.duration,
  duration_too_long: INPUT_IDS.duration,
  duration_too_short: INPUT_IDS.duration,
  missing_reason: INPUT_IDS.reason,
  reason_too_long: INPUT_IDS.reason,
  missing_ticket: INPUT_IDS.reason,
  invalid_start: INPUT_IDS.start,
  start_in_past: INPUT_IDS.start,
  start_too_far: INPUT_IDS.start,
  invalid_bundle: INPUT_IDS.moreRoles,
};

/** The role picked in the menu, static or type-ahead; anything that is not a role ID (the "more" hint) is no pick. */
const pickedRoleSchema = z.object({ selected_option: z.object({ value: roleIdValueSchema }) });

/** What Slack sends as someone types in the type-ahead role menu. */
const roleSuggestionSchema = z.object({
  user: z.object({ id: z.string().min(1) }),
  value: z.string().default(''),
});

/** Why a submitted role value is not a role, next to the field. */
function roleValueError(value: string): string {
  return value === MORE_ROLES_VALUE
    ? 'That is not a role: type more of its name or description, then choose it.'
    : 'Choose a role from the menu.';
}

/** The request modal: opened from the global shortcut and the App Home, redrawn when a role is picked, submitted. */
export function registerRequestModal(app: App, deps: SlackDeps): void {
  app.shortcut(SHORTCUT_IDS.requestAccess, async ({ ack, shortcut, client }) => {
    await ack();
    await openRequestModal(client, shortcut.trigger_id, shortcut.user.id, {}, deps).catch((error: unknown) => {
      deps.logger.error({ err: error, userId: shortcut.user.id }, 'could not open the request modal');
    });
  });

  app.action<BlockAction>(ACTION_IDS.openRequestModal, async ({ ack, body, client }) => {
    await ack();
    await openRequestModal(client, body.trigger_id, body.user.id, {}, deps).catch((error: unknown) => {
      deps.logger.error({ err: error, userId: body.user.id }, 'could not open the request modal');
    });
  });

  // The type-ahead role menu (more roles than one static menu holds): only roles this person may request, matched
  // on what they typed. The answer is the acknowledgement, so it waits for the roles, within Slack's deadline.
  // The "also request" menu, when type-ahead, suggests the same roles.
  for (const actionId of [ACTION_IDS.pickRole, ACTION_IDS.pickMoreRoles]) {
    app.options<'block_suggestion'>({ type: 'block_suggestion', action_id: actionId }, async ({ ack, body }) => {
      const parsed = roleSuggestionSchema.safeParse(body);
      if (!parsed.success) {
        await ack({ options: [] });
        return;
      }
      const { user, value } = parsed.data;
      const roles = deps.requests.requestableRoles(user.id).then(
        (requestable) => ({ requestable }),
        (error: unknown) => ({ error }),
      );
      const ready = await withinAckDeadline(roles);
      if (ready === undefined || 'error' in ready) {
        deps.logger.warn(
          { err: ready && 'error' in ready ? ready.error : undefined, userId: user.id },
          'no role suggestions: the requestable roles could not be read in time',
        );
        await ack({ options: [] });
        return;
      }
      await ack(roleSuggestions(ready.requestable, value));
    });
  }

  // Picking a role redraws the form so the duration menu offers that role's durations and default.
  app.action<BlockAction<StaticSelectAction | ExternalSelectAction>>(
    ACTION_IDS.pickRole,
    async ({ ack, body, action, client }) => {
      await ack();
      const view = body.view;
      const picked = pickedRoleSchema.safeParse(action);
      if (!view || !picked.success) return;
      try {
        const form = await deps.requests.requestForm(body.user.id);
        // A role this person may not request (a forged pick) redraws nothing; the submission refuses it.
        if (!form.roles.some((role) => role.id === picked.data.selected_option.value)) return;
        const reason = viewInput(view.state.values, INPUT_IDS.reason, INPUT_IDS.reason);
        const startsAt = viewDateTime(view.state.values, INPUT_IDS.start, INPUT_IDS.start);
        await client.views.update({
          view_id: view.id,
          hash: view.hash,
          view: requestModal({
            roles: form.roles,
            minDurationMs: form.minDurationMs,
            selectedRoleId: picked.data.selected_option.value,
            ...(reason !== undefined && { reason }),
            ...(startsAt !== undefined && { startsAt }),
          }),
        });
      } catch (error) {
        // A hash conflict means the person changed the form again meanwhile; that later update wins.
        deps.logger.info({ err: error, userId: body.user.id }, 'request modal not redrawn for the picked role');
      }
    },
  );

  app.view<ViewSubmitAction>(VIEW_IDS.request, async ({ ack, body, view, client }) => {
    const userId = body.user.id;
    const values = view.state.values;
    const roleValue = viewInput(values, INPUT_IDS.role, ACTION_IDS.pickRole);
    if (roleValue === undefined) {
      await ack({ response_action: 'errors', errors: { [INPUT_IDS.role]: 'Choose a role.' } });
      return;
    }
    const parsedRole = roleIdValueSchema.safeParse(roleValue);
    if (!parsedRole.success) {
      await ack({ response_action: 'errors', errors: { [INPUT_IDS.role]: roleValueError(roleValue) } });
      return;
    }
    const roleId = parsedRole.data;
    // Further roles make a bundle: the first role, then the others, each once; anything not a role ID is dropped
    // (the "more" hint of a type-ahead menu), and the domain refuses roles the person may not request.
    const more = viewMultiInput(values, INPUT_IDS.moreRoles, ACTION_IDS.pickMoreRoles).filter(
      (value) => roleIdValueSchema.safeParse(value).success && value !== roleId,
    );
    const bundle = more.length > 0 ? [roleId, ...new Set(more)] : undefined;
    const duration = viewInput(values, INPUT_IDS.duration, INPUT_IDS.duration);
    // The datetimepicker gives a point in time already: the person picked it in their own time zone.
    const startsAt = viewDateTime(values, INPUT_IDS.start, INPUT_IDS.start);
    const work = deps.requests.requestAccess({
      requesterId: userId,
      teamId: body.team?.id ?? body.user.team_id ?? '',
      ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
      roleId,
      ...(bundle !== undefined && { bundle }),
      ...(duration !== undefined && { duration }),
      reason: viewInput(values, INPUT_IDS.reason, INPUT_IDS.reason) ?? '',
      ...(startsAt !== undefined && { startsAt }),
    });
    const refusal = (error: unknown) =>
      answerFailure(error, deps, { actorId: userId, action: 'request form' }, { userId, roleId });
    // Answered in the form when filed in time; otherwise the form closes and the outcome comes as a DM.
    await answerViewSubmission(work, {
      ack,
      client,
      userId,
      logger: deps.logger,
      form: 'request form',
      async inForm(outcome) {
        if (outcome.ok)
          return { response_action: 'update', view: requestSentView(outcome.value.request, outcome.value.role) };
        const text = await refusal(outcome.error);
        const { error } = outcome;
        const field = (isDomainError(error) && FIELD_OF[error.code]) || INPUT_IDS.role;
        // The domain's refusal lists every role this person may request, which the menu already offers.
        const roleRefused =
          isDomainError(error) && (error.code === 'role_not_requestable' || error.code === 'unknown_role')
            ? (error as DomainError<'role_not_requestable' | 'unknown_role'>).details.roleId
            : undefined;
        return {
          response_action: 'errors',
          errors: {
            [roleRefused !== undefined && roleRefused !== roleId ? INPUT_IDS.moreRoles : field]:
              roleRefused !== undefined
                ? `You may not request "${roleRefused}"; choose one of the roles the menu offers.`
                : inlineError(text),
          },
        };
      },
      inDm: async (outcome) =>
        outcome.ok
          ? requestConfirmationText(outcome.value.request, outcome.value.role, deps.clock.now())
          : refusal(outcome.error),
    });
  });
}
