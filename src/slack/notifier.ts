import type { WebClient } from '@slack/web-api';
import type { AccessRequest, MessageRef } from '../domain/access-request';
import type { BundleRoleView } from '../domain/bundle';
import type { Role } from '../domain/policy';
import type { Clock, NoticeKind, Notifier, PersonalOverview } from '../domain/ports';
import { approvalMessage } from './blocks/approval-message';
import { escalationDm } from './blocks/escalation-dm';
import { auditLine, escalationThreadReply, requesterMessage, threadReply } from './blocks/lifecycle-notices';
import { approvalReminder, expiryReminder } from './blocks/reminders';
import { publishAppHome } from './interaction';

export interface SlackNotifierOptions {
  /** The policy's audit channel, read at delivery so a reloaded policy applies. */
  auditChannel: () => string | undefined;
  clock: Clock;
  /**
   * The policy's shortest duration, read at delivery: approvers may approve for less time, down to it. Without it
   * the approval message offers no shorter duration.
   */
  minDurationMs?: () => number;
}

/**
 * Tells people in Slack: keeps the approval message showing the current state, replies in its thread for each
 * event, DMs the requester, and writes a line to the audit channel.
 */
export class SlackNotifier implements Notifier {
  constructor(
    private readonly client: WebClient,
    private readonly options: SlackNotifierOptions,
  ) {}

  async showApprovalMessage(
    request: AccessRequest,
    role: Role | undefined,
    existing: MessageRef | undefined,
    bundle?: readonly BundleRoleView[],
  ): Promise<MessageRef | undefined> {
    const rendered = approvalMessage(request, role, this.options.minDurationMs?.(), bundle);
    if (existing) {
      await this.client.chat.update({
        channel: existing.channel,
        ts: existing.ts,
        text: rendered.text,
        blocks: rendered.blocks,
      });
      return existing;
    }
    if (role?.approvalChannel === undefined) return undefined;
    const result = await this.client.chat.postMessage({
      channel: role.approvalChannel,
      text: rendered.text,
      blocks: rendered.blocks,
      unfurl_links: false,
    });
    if (result.ts === undefined || result.channel === undefined) {
      throw new Error(`chat.postMessage to ${role.approvalChannel} returned no message timestamp`);
    }
    return { channel: result.channel, ts: result.ts };
  }

  async replyInThread(
    message: MessageRef,
    kind: NoticeKind,
    request: AccessRequest,
    role: Role | undefined,
  ): Promise<boolean> {
    const text =
      kind === 'approval-reminder'
        ? role && approvalReminder(request, role)
        : kind === 'escalated'
          ? role && escalationThreadReply(request, role)
          : threadReply(kind, request);
    if (!text) return false;
    await this.client.chat.postMessage({ channel: message.channel, thread_ts: message.ts, text, unfurl_links: false });
    return true;
  }

  async tellRequester(kind: NoticeKind, request: AccessRequest, role: Role | undefined): Promise<boolean> {
    // Posting to a user ID opens (or reuses) the bot's DM with them; `chat:write` is enough.
    if (kind === 'expiry-reminder') {
      const reminder = expiryReminder(request, role, this.options.clock.now());
      await this.client.chat.postMessage({ channel: request.requesterId, ...reminder, unfurl_links: false });
      return true;
    }
    const text = requesterMessage(kind, request);
    if (!text) return false;
    await this.client.chat.postMessage({ channel: request.requesterId, text, unfurl_links: false });
    return true;
  }

  async recordInAuditChannel(kind: NoticeKind, request: AccessRequest): Promise<boolean> {
    const channel = this.options.auditChannel();
    const text = auditLine(kind, request);
    if (channel === undefined || !text) return false;
    await this.client.chat.postMessage({ channel, text, unfurl_links: false });
    return true;
  }

  async tellEscalationApprovers(userIds: readonly string[], request: AccessRequest, role: Role): Promise<void> {
    // The whole minimum when the option is absent: then no shorter duration is offered, as on the approval message.
    const dm = escalationDm(request, role, this.options.minDurationMs?.() ?? request.durationMs);
    for (const userId of userIds) {
      await this.client.chat.postMessage({ channel: userId, ...dm, unfurl_links: false });
    }
  }

  async showHome(overview: PersonalOverview): Promise<void> {
    await publishAppHome(this.client, overview);
  }
}
