import type { App, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import type { AccessRequest } from '../../domain/access-request';
import { formatDuration } from '../../domain/duration';
import { isDomainError } from '../../domain/errors';
import type { Role } from '../../domain/policy';
import { answerViewSubmission } from '../ack-deadline';
import { infoModal } from '../blocks/info-modal';
import { answerFailure } from '../error-reporter';
import { INPUT_IDS, VIEW_IDS } from '../ids';
import { inlineError, requestIdValueSchema, viewInput, viewMetadata } from '../interaction';
import type { SlackDeps } from '../slack-deps';

/** What the extend modal carries from the click to the submission: the grant to extend. */
export const extendMetadataSchema = z.object({ requestId: requestIdValueSchema }).strict();
export type ExtendMetadata = z.infer<typeof extendMetadataSchema>;

/** What the requester is told once the extension is asked for: waiting for approvers, or being applied. */
function extensionAskedText(extended: string, { request, role }: { request: AccessRequest; role: Role }): string {
  const extra = formatDuration(request.durationMs);
  return request.state === 'pending'
    ? `:inbox_tray: Extension \`${request.id}\` asks for ${extra} more on \`${extended}\`; approvers of *${role.id}* decide${role.approvalChannel ? ` in <#${role.approvalChannel}>` : ''}. Your access continues meanwhile, and you get a DM when it is decided.`
    : `:arrows_clockwise: Adding ${extra} to \`${extended}\` now; you get a DM with the new expiry.`;
}

/**
 * The extend modal's submission asks for more time on a grant. The outcome shows in the modal when known in time
 * (a refusal next to its field), else as a DM after the modal closed.
 */
export function registerExtendSubmission(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(VIEW_IDS.extend, async ({ ack, body, view, client }) => {
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
    const refusal = (error: unknown) =>
      answerFailure(error, deps, { actorId, action: 'extend' }, { userId: actorId, requestId: metadata.requestId });
    const work = deps.requests.requestExtension({
      requesterId: actorId,
      teamId: body.team?.id ?? body.user.team_id ?? '',
      ...(body.enterprise?.id !== undefined && { enterpriseId: body.enterprise.id }),
      requestId: metadata.requestId,
      duration,
      ...(reason !== undefined && { reason }),
    });
    await answerViewSubmission(work, {
      ack,
      client,
      userId: actorId,
      logger: deps.logger,
      form: 'extend form',
      async inForm(outcome) {
        if (outcome.ok) {
          return {
            response_action: 'update',
            view: infoModal('Extension asked', extensionAskedText(metadata.requestId, outcome.value)),
          };
        }
        const field =
          isDomainError(outcome.error) && outcome.error.code === 'missing_ticket'
            ? INPUT_IDS.reason
            : INPUT_IDS.duration;
        return { response_action: 'errors', errors: { [field]: inlineError(await refusal(outcome.error)) } };
      },
      inDm: async (outcome) =>
        outcome.ok ? extensionAskedText(metadata.requestId, outcome.value) : refusal(outcome.error),
    });
  });
}
