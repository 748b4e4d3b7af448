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
    // Read together: one round trip rather than two before the first Slack call.
    const [request, storedMessage] = await Promise.all([store.get(requestId), store.getApprovalMessage(requestId)]);
    if (!request) return false;
    const role = findRole(this.deps.policy.current(), request.roleId);
    if (kind === 'approval-reminder' || kind === 'expiry-reminder') {
      if (this.reminderStillDue(kind, request)) await this.remind(kind, request, role, storedMessage, progress);
      return true;
    }
    let message = storedMessage;
    const failures: unknown[] = [];
    /**
     * A part that posted nothing (`deliver` resolved false) needs no record: a retry would post nothing again. Nor
     * does the `last`: nothing follows it that could fail and make a retry. Each record is a round trip to Redis.
     */
    const step = async (name: NoticeStep, deliver: () => Promise<boolean | undefined>, last = false) => {
      if (progress.done.has(name)) return;
      try {
        const posted = await deliver();
        if (!last && posted !== false) await progress.markDone(name);
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
        const shown = isBundle(request)
          ? await notifier.showApprovalMessage(request, role, message, bundleView(this.deps.policy.current(), request))
          : await notifier.showApprovalMessage(request, role, message);
        if (shown && !message) {
          message = shown;
          await store.setApprovalMessage(requestId, shown);
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
    progress: NoticeProgress,
  ): Promise<void> {
    const { notifier } = this.deps;
    // One part each, so nothing is recorded as done: a retry only follows its failure.
    if (kind === 'expiry-reminder') {
      if (!progress.done.has('requester-dm')) await notifier.tellRequester(kind, request, role);
      return;
    }
    if (message && !progress.done.has('thread-reply')) await notifier.replyInThread(message, kind, request, role);
  }
}
