import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError } from '../../domain/errors';
import { parseStartTime } from '../../domain/start-time';
import { answerEphemerally } from '../ack-deadline';
import { helpText, listText, requestConfirmationText, rolesText, statusText } from '../blocks/command-replies';
import { roleNames } from '../blocks/format';
import { answerFailure } from '../error-reporter';
import { SLASH_COMMAND } from '../ids';
import type { SlackDeps } from '../slack-deps';
import { userTimeZone } from '../user-time-zone';
import { openRequestModal } from '../views/request-modal-flow';
import { handleAuditCommand } from './audit-command';
import { type AuditCommand, type JitCommand, parseJitCommand } from './parse-jit-command';

/**
 * `/jit …`: answers privately (ephemeral) with the outcome, in the acknowledgement itself when the work is done
 * in time, else through the response URL.
 */
export function registerJitCommand(app: App, deps: SlackDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = parseJitCommand(command.text ?? '');
    if (parsed.kind === 'audit') {
      await handleAuditCommand(parsed, { command, ack, respond, client }, deps);
      return;
    }
    if (parsed.kind === 'form') {
      await ack();
      try {
        await openRequestModal(client, command.trigger_id, command.user_id, parsed, deps);
      } catch (error) {
        const text = await answerFailure(
          error,
          deps,
          { actorId: command.user_id, action: '/jit request form' },
          { command: 'form', userId: command.user_id },
        );
        await respond({ response_type: 'ephemeral', text });
      }
      return;
    }
    await answerEphemerally(answer(parsed, command, deps, client), (text) => text, {
      ack,
      respond,
      workingText: ':hourglass_flowing_sand: Working on it…',
    });
  });
}

/** The reply to one command; never throws (errors become a message for the person). */
async function answer(
  parsed: Exclude<JitCommand, AuditCommand | { kind: 'form' }>,
  command: SlashCommand,
  deps: SlackDeps,
  client: WebClient,
): Promise<string> {
  const userId = command.user_id;
  const context = { command: parsed.kind, userId, teamId: command.team_id };
  try {
    switch (parsed.kind) {
      case 'help':
        return helpText();
      case 'invalid':
        // Thrown so the refusal is audited and reported like every other one.
        throw new DomainError('invalid_command', { explanation: parsed.message });
      case 'roles':
        return rolesText(await deps.requests.requestableRoles(userId));
      case 'list':
        return listText(await deps.requests.openRequests(userId), deps.clock.now());
      case 'status':
        return statusText(await deps.requests.status(parsed.requestId, userId), deps.clock.now());
      case 'cancel': {
        const request = await deps.requests.cancel(parsed.requestId, userId);
        return `:heavy_minus_sign: Request \`${request.id}\` for *${roleNames(request)}* is cancelled.`;
      }
      case 'revoke': {
        const request = await deps.requests.revoke(parsed.requestId, userId);
        if (request.state === 'cancelled')
          return `:heavy_minus_sign: Request \`${request.id}\` for *${roleNames(request)}* is called off before its start; nothing was granted.`;
        return `:no_entry_sign: Revoking access for \`${request.id}\` (*${roleNames(request)}*) now; <@${request.requesterId}> gets a DM when it is removed.`;
      }
      case 'request': {
        // The start is read in the requester's own Slack time zone, unless it carries an offset.
        const startsAt =
          parsed.start === undefined
            ? undefined
            : parseStartTime(parsed.start, await userTimeZone(client, userId, deps.logger));
        const { request, role } = await deps.requests.requestAccess({
          requesterId: userId,
          teamId: command.team_id,
          ...(command.enterprise_id !== undefined &&
            command.enterprise_id !== '' && { enterpriseId: command.enterprise_id }),
          roleId: parsed.roleId,
          ...(parsed.bundle !== undefined && { bundle: parsed.bundle }),
          ...(parsed.duration !== undefined && { duration: parsed.duration }),
          reason: parsed.reason,
          ...(startsAt !== undefined && { startsAt }),
        });
        return requestConfirmationText(request, role, deps.clock.now());
      }
    }
  } catch (error) {
    return answerFailure(error, deps, { actorId: userId, action: `/jit ${parsed.kind}` }, context);
  }
}
