import { findRole } from './policy';
import type { NoticeKind, NoticeStep, Notifier, PolicySource, RequestStore } from './ports';

export interface NoticeServiceDeps {
  store: RequestStore;
  policy: PolicySource;
  notifier: Notifier;
}

/** How far an earlier attempt of the same notice got, and how to record progress. */
export interface NoticeProgress {
  /**
   * True while a later retry may still find the approval message (its own notice can be queued behind this
   * one); false on the last tries, when a missing message is posted anew rather than waited for.
   */
  mayWaitForApprovalMessage: boolean;
  done: ReadonlySet<NoticeStep>;
  markDone(step: NoticeStep): Promise<void>;
}

/** The approval message is not posted yet; the channel part of the notice waits for a retry. */
export class ApprovalMessageNotYetPosted extends Error {
  override readonly name = 'ApprovalMessageNotYetPosted';
}

/**
 * Delivers one lifecycle notice from the request as stored now. Its parts (approval message, thread reply,
 * requester DM, audit line) are independent: one failing does not hold back the others, and a retry redoes only
 * the parts not yet delivered, so nobody gets the same message twice.
 * @returns false when the request no longer exists (nothing to tell).
 * @throws the failures of the parts that could not be delivered, so the job retries them.
 */
export class NoticeService {
  constructor(private readonly deps: NoticeServiceDeps) {}

  async deliver(requestId: string, kind: NoticeKind, progress: NoticeProgress): Promise<boolean> {
    const { store, notifier } = this.deps;
    const request = await store.get(requestId);
    if (!request) return false;
    const role = findRole(this.deps.policy.current(), request.roleId);
    let message = await store.getApprovalMessage(requestId);
    const failures: unknown[] = [];
    const step = async (name: NoticeStep, deliver: () => Promise<void>) => {
      if (progress.done.has(name)) return;
      try {
        await deliver();
        await progress.markDone(name);
      } catch (error) {
        failures.push(error);
      }
    };

    const waitForMessage =
      message === undefined &&
      role?.approvalChannel !== undefined &&
      kind !== 'requested' &&
      progress.mayWaitForApprovalMessage;
    if (!waitForMessage) {
      await step('approval-message', async () => {
        const shown = await notifier.showApprovalMessage(request, role, message);
        if (shown && !message) {
          message = shown;
          await store.setApprovalMessage(requestId, shown);
        }
      });
      const thread = message;
      if (thread) await step('thread-reply', () => notifier.replyInThread(thread, kind, request));
    }
    await step('requester-dm', () => notifier.tellRequester(kind, request));
    await step('audit-channel', () => notifier.recordInAuditChannel(kind, request));

    if (waitForMessage)
      failures.push(new ApprovalMessageNotYetPosted(`approval message for ${requestId} is not posted yet`));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1)
      throw new AggregateError(failures, `${failures.length} parts of the ${kind} notice failed`);
    return true;
  }
}
