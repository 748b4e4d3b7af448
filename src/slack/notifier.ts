import type { WebClient } from '@slack/web-api';
import type { MessageRef } from '../domain/access-request';
import type { Notice, Notifier } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { approvalMessage } from './blocks/approval-message';
import { auditLine, requesterMessage, threadReply } from './blocks/lifecycle-notices';

/** The approval message is not posted yet (its notice is still queued); retrying shortly will find it. */
export class ApprovalMessageNotYetPosted extends Error {
  override readonly name = 'ApprovalMessageNotYetPosted';
}

export interface SlackNotifierOptions {
  auditChannel: () => string | undefined;
}

/**
 * Tells people in Slack: keeps the approval message showing the current state, replies in its thread for each
 * event, DMs the requester, and writes a line to the audit channel.
 */
export class SlackNotifier implements Notifier {
  constructor(
    private readonly client: WebClient,
    private readonly options: SlackNotifierOptions,
    private readonly logger: Logger,
  ) {}

  async deliver(notice: Notice): Promise<{ approvalMessage?: MessageRef }> {
    const { kind, request, role } = notice;
    const rendered = approvalMessage(request, role);
    let ref = notice.approvalMessage;
    let posted: MessageRef | undefined;

    if (ref) {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, text: rendered.text, blocks: rendered.blocks });
    } else if (role?.approvalChannel !== undefined) {
      if (kind !== 'requested' && notice.mayWaitForApprovalMessage) {
        throw new ApprovalMessageNotYetPosted(`approval message for ${request.id} is not posted yet`);
      }
      const result = await this.client.chat.postMessage({
        channel: role.approvalChannel,
        text: rendered.text,
        blocks: rendered.blocks,
        unfurl_links: false,
      });
      if (result.ts !== undefined && result.channel !== undefined) {
        posted = { channel: result.channel, ts: result.ts };
        ref = posted;
      }
    }

    const reply = threadReply(kind, request);
    if (ref && reply) {
      await this.client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, text: reply, unfurl_links: false });
    }
    const dm = requesterMessage(kind, request);
    if (dm) await this.client.chat.postMessage({ channel: request.requesterId, text: dm, unfurl_links: false });

    const auditChannel = this.options.auditChannel();
    const line = auditLine(kind, request);
    if (auditChannel !== undefined && line) {
      await this.client.chat.postMessage({ channel: auditChannel, text: line, unfurl_links: false });
    }
    this.logger.debug({ requestId: request.id, kind, posted: posted !== undefined }, 'notice delivered to Slack');
    return posted ? { approvalMessage: posted } : {};
  }
}
