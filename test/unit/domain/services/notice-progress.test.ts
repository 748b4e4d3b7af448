/** What a notice records as delivered, so that a retry redoes only the rest: the parts that posted something. */
import { NoticeService } from '../../../../src/domain/notice-service';
import { OverviewService } from '../../../../src/domain/overview';
import type { NoticeKind, NoticeStep, Notifier } from '../../../../src/domain/ports';
import { serviceWorld } from './service-world';

/** Delivers one notice with a notifier whose three text parts post (true) or have nothing to say (false). */
async function recordedSteps(kind: NoticeKind, textPartsPost: boolean): Promise<NoticeStep[]> {
  const world = serviceWorld();
  const request = await world.file();
  const posts = async () => textPartsPost;
  const notifier: Notifier = {
    showApprovalMessage: (shown, role, existing) => world.notifier.showApprovalMessage(shown, role, existing),
    replyInThread: posts,
    tellRequester: posts,
    recordInAuditChannel: posts,
    tellEscalationApprovers: (userIds, shown) => world.notifier.tellEscalationApprovers(userIds, shown),
    showHome: (overview) => world.notifier.showHome(overview),
  };
  const notices = new NoticeService({ ...world.deps, notifier, overview: new OverviewService(world.deps) });
  const recorded: NoticeStep[] = [];
  await notices.deliver(request.id, kind, {
    mayWaitForApprovalMessage: true,
    done: new Set(),
    markDone: async (step) => {
      recorded.push(step);
    },
  });
  return recorded;
}

describe('NoticeService: what a notice records as done', () => {
  it('every part that posted, except the App Home redraw, which is last and is redone anyway', async () => {
    expect(await recordedSteps('requested', true)).toEqual([
      'approval-message',
      'thread-reply',
      'requester-dm',
      'audit-channel',
    ]);
  });

  it('not the parts that had nothing to say: a retry would post nothing there again', async () => {
    // A new request tells only the approval channel; each record is a round trip to Redis.
    expect(await recordedSteps('requested', false)).toEqual(['approval-message']);
  });
});
