import type { AckFn, RespondArguments, RespondFn, SlashCommand } from '@slack/bolt';
import { ErrorCode, type WebClient } from '@slack/web-api';
import { formatAuditExport } from '../../domain/audit-format';
import { type AuditExport, DEFAULT_AUDIT_SINCE, parsePointInTime } from '../../domain/audit-service';
import { answerEphemerally } from '../ack-deadline';
import { auditDeliveryFailedText, auditSummaryText } from '../blocks/command-replies';
import { escapeMrkdwn, requestIdCode, utcTime } from '../blocks/format';
import { describeForPerson } from '../error-reporter';
import type { SlackDeps } from '../slack-deps';
import type { AuditCommand } from './parse-jit-command';

export interface AuditCommandArgs {
  command: SlashCommand;
  ack: AckFn<string | RespondArguments>;
  respond: RespondFn;
  client: WebClient;
}

/** What the admin is told at once, and the export to deliver afterwards (absent on refusal or when empty). */
interface Prepared {
  text: string;
  exported?: AuditExport;
}

/**
 * `/jit audit [since] [request ID]`: the admin check and the (bounded) read happen before the ack, so the
 * acknowledgement says what was found; the CSV goes to the admin's DM after it, and a failed delivery is told
 * ephemerally. Never throws.
 */
export async function handleAuditCommand(parsed: AuditCommand, args: AuditCommandArgs, deps: SlackDeps): Promise<void> {
  const { command, ack, respond } = args;
  try {
    const prepared = await answerEphemerally(prepare(parsed, command, deps), (ready) => ready.text, {
      ack,
      respond,
      workingText: ':hourglass_flowing_sand: Reading the audit trail…',
    });
    if (prepared.exported !== undefined) await deliver(prepared.exported, parsed, args, deps);
  } catch (error) {
    deps.logger.error({ err: error, userId: command.user_id }, 'could not answer /jit audit');
  }
}

async function prepare(parsed: AuditCommand, command: SlashCommand, deps: SlackDeps): Promise<Prepared> {
  const userId = command.user_id;
  try {
    const now = deps.clock.now();
    const sinceMs = parsePointInTime(parsed.since ?? DEFAULT_AUDIT_SINCE, now);
    const exported = await deps.audit.exportFor(
      userId,
      sinceMs,
      parsed.requestId !== undefined ? { requestId: parsed.requestId } : {},
    );
    const text = auditSummaryText(exported, parsed.requestId, now);
    return exported.entries.length > 0 ? { text, exported } : { text };
  } catch (error) {
    return { text: describeForPerson(error, deps.logger, { command: 'audit', userId, teamId: command.team_id }) };
  }
}

/** Uploads the export as a CSV file into the admin's DM with the bot; on failure tells them why, ephemerally. */
async function deliver(exported: AuditExport, parsed: AuditCommand, args: AuditCommandArgs, deps: SlackDeps) {
  const userId = args.command.user_id;
  const stamp = new Date(exported.sinceMs).toISOString().replace(/[:.]/g, '-');
  const filename = `jit-audit-since-${stamp}${parsed.requestId !== undefined ? `-${parsed.requestId}` : ''}.csv`;
  try {
    // completeUploadExternal takes a conversation ID (D…), not a user ID.
    const dm = await args.client.conversations.open({ users: userId });
    const channelId = dm.channel?.id;
    if (channelId === undefined) throw new Error('conversations.open returned no channel');
    await args.client.filesUploadV2({
      channel_id: channelId,
      filename,
      title: filename,
      content: formatAuditExport(exported.entries, 'csv'),
      initial_comment: `The audit trail since ${utcTime(exported.sinceMs)}${parsed.requestId !== undefined ? ` about ${requestIdCode(parsed.requestId)}` : ''}: ${exported.entries.length} entries, oldest first${exported.truncated ? ' (as many as one export carries)' : ''}.`,
    });
    deps.logger.info(
      { userId, entries: exported.entries.length, truncated: exported.truncated, requestId: parsed.requestId },
      'audit export delivered',
    );
  } catch (error) {
    deps.logger.error({ err: error, userId }, 'audit export could not be delivered');
    await args.respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: auditDeliveryFailedText(whyDeliveryFailed(error)),
    });
  }
}

/** A Web API failure in words an admin can act on. */
function whyDeliveryFailed(error: unknown): string {
  const { code, data } = error as { code?: unknown; data?: { error?: unknown; needed?: unknown } };
  if (code === ErrorCode.PlatformError) {
    const slackError = String(data?.error);
    if (slackError === 'missing_scope') {
      return `the Slack app lacks the \`${String(data?.needed ?? 'files:write')}\` scope; add it (manifest.yml lists it) and reinstall the app`;
    }
    return `Slack refused it (\`${slackError}\`)`;
  }
  if (code === ErrorCode.RateLimitedError) return 'Slack is rate-limiting the bot; try again in a minute';
  if (code === ErrorCode.HTTPError) {
    return `Slack answered HTTP ${String((error as { statusCode?: unknown }).statusCode)}; try again in a minute`;
  }
  if (code === ErrorCode.RequestError) return 'Slack could not be reached; try again in a minute';
  return `the upload failed (${escapeMrkdwn(error instanceof Error ? error.message : String(error))})`;
}
