import type { AccessRequest, MessageRef } from './access-request';
import { bundleView, isBundle } from './bundle';
import { expiryReminderStillDue } from './expiry-reminder';
import type { OverviewService } from './overview';
import { findRole, type Role } from './policy';
import type {
  Clock,
  JobScheduler,
  NoticeKind,
  NoticeStep,
  Notifier,
  PolicySource,
  ReminderKind,
  RequestStore,
} from './ports';

export interface NoticeServiceDeps {
  store: RequestStore;
  policy: PolicySource;
  notifier: Notifier;
  overview: OverviewService;
  scheduler: JobScheduler;
  clock: Clock;
}

/** Events that change what approvers see on their App Home (the requests waiting for them). */
const APPROVER_FACING: ReadonlySet<NoticeKind> = new Set([
  'requested',
  'approval-recorded',
  'approved',
  'denied',
  'cancelled',
  'timed-out',
  'refresh',
  'escalated',
]);

/** One attempt at delivering a notice. */
export interface NoticeAttempt {
  /**
   * The notice's name among the request's notices (its kind and version): the parts delivered are recorded under it
   * with the request, so a retry, or the same notice queued again later, posts none of them twice.
   */
  notice: string;
  /**
   * True while a later retry may still find the approval message (its own notice can be queued behind this
   * one); false on the last tries, when a missing message is posted anew rather than waited for.
   */
  mayWaitForApprovalMessage: boolean;
  /** Parts an earlier version of the bot recorded as delivered in the job itself, not with the request. */
  doneBefore?: readonly NoticeStep[];
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

  async deliver(requestId: string, kind: NoticeKind, attempt: NoticeAttempt): Promise<boolean> {
    const { store, notifier } = this.deps;
    const context = await store.forNotice(requestId, attempt.notice);
    if (!context) return false;
    const { request } = context;
    const done = new Set([...context.done, ...(attempt.doneBefore ?? [])]);
    const markDone = (name: NoticeStep) => store.recordNoticeStep(requestId, attempt.notice, name);
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (kind === 'approval-reminder' || kind === 'expiry-reminder') {
      if (this.reminderStillDue(kind, request)) {
        await this.remind(kind, request, role, context.approvalMessage, { done, markDone });
      }
      return true;
    }
    let message = context.approvalMessage;
    const failures: unknown[] = [];
    /**
     * A part that posted nothing (`deliver` resolved false) needs no record: run again, it would post nothing again.
     * Nor does the `last`, the App Home redraw, which is idempotent, or one that recorded itself ('recorded'). Each
     * record is a round trip to Redis.
     */
    const step = async (name: NoticeStep, deliver: () => Promise<boolean | 'recorded' | undefined>, last = false) => {
      if (done.has(name)) return;
      try {
        const posted = await deliver();
        if (!last && posted !== false && posted !== 'recorded') await markDone(name);
      } catch (error) {
        failures.push(error);
      }
    };

    const waitForMessage =
      message === undefined &&
      role?.approvalChannel !== undefined &&
      kind !== 'requested' &&
      attempt.mayWaitForApprovalMessage;
    if (!waitForMessage) {
      await step('approval-message', async () => {
        const shown = isBundle(request)
          ? await notifier.showApprovalMessage(request, role, message, bundleView(this.deps.policy.current(), request))
          : await notifier.showApprovalMessage(request, role, message);
        if (shown && !message) {
          message = shown;
          // Kept, and recorded as this notice's part, in one write.
          await store.setApprovalMessage(requestId, shown, attempt.notice);
          return 'recorded';
        }
        return shown !== undefined;
      });
      const thread = message;
      if (thread) await step('thread-reply', () => notifier.replyInThread(thread, kind, request, role));
    }
    await step('requester-dm', () => notifier.tellRequester(kind, request, role));
    await step('audit-channel', () => notifier.recordInAuditChannel(kind, request));
    if (kind === 'escalated' && role !== undefined) {
      await step('escalation-dm', async () => {
        await notifier.tellEscalationApprovers(
          await this.deps.overview.escalationApprovers(request, role),
          request,
          role,
        );
        return true;
      });
    }
    // Redraws are idempotent and coalesced, so they are queued together and never recorded as done.
    await step(
      'app-home',
      async () => {
        const people = await this.deps.overview.peopleShowing(request, APPROVER_FACING.has(kind));
        await Promise.all(people.map((userId) => this.deps.scheduler.scheduleHomeRefresh(userId)));
        return people.length > 0;
      },
      true,
    );

    if (waitForMessage)
      failures.push(new ApprovalMessageNotYetPosted(`approval message for ${requestId} is not posted yet`));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1)
      throw new AggregateError(failures, `${failures.length} parts of the ${kind} notice failed`);
    return true;
  }

  /** Redraws one person's App Home from the requests as they are now. */
  async refreshHome(userId: string): Promise<void> {
    await this.deps.notifier.showHome(await this.deps.overview.forPerson(userId));
  }

  /**
   * A reminder is sent only while it still applies: the request still pending, or the grant still ending then. The
   * expiry reminder is queued by the revoke job once due; a reminder job of an earlier version is checked the same.
   */
  private reminderStillDue(kind: ReminderKind, request: AccessRequest): boolean {
    const now = this.deps.clock.now();
    if (kind === 'approval-reminder') return request.state === 'pending' && now < request.approvalDeadline;
    return expiryReminderStillDue(request, now, this.deps.policy.current().settings.reminderBeforeMs);
  }

  private async remind(
    kind: ReminderKind,
    request: AccessRequest,
    role: Role | undefined,
    message: MessageRef | undefined,
    progress: { done: ReadonlySet<NoticeStep>; markDone: (step: NoticeStep) => Promise<void> },
  ): Promise<void> {
    const { notifier } = this.deps;
    // One part each, recorded once posted: the job that queued the reminder may queue it again on a retry.
    if (kind === 'expiry-reminder') {
      if (progress.done.has('requester-dm')) return;
      if ((await notifier.tellRequester(kind, request, role)) !== false) await progress.markDone('requester-dm');
      return;
    }
    if (!message || progress.done.has('thread-reply')) return;
    if ((await notifier.replyInThread(message, kind, request, role)) !== false) await progress.markDone('thread-reply');
  }
}
