/**
 * What a notice records with its request as delivered, so that the same notice run again (a retry, or queued again
 * once its job is gone) redoes only the rest: the parts that posted something.
 */
import { NoticeService } from '../../../../src/domain/notice-service';
import { OverviewService } from '../../../../src/domain/overview';
import type { NoticeKind, NoticeStep, Notifier } from '../../../../src/domain/ports';
import { type ServiceWorld, serviceWorld } from './service-world';

/** A notifier whose three text parts post (true) or have nothing to say (false), recording the rest as usual. */
function notifierWhoseTextParts(world: ServiceWorld, post: boolean): Notifier {
  const posts = async () => post;
  return {
    showApprovalMessage: (shown, role, existing) => world.notifier.showApprovalMessage(shown, role, existing),
    replyInThread: posts,
    tellRequester: posts,
    recordInAuditChannel: posts,
    tellEscalationApprovers: (userIds, shown) => world.notifier.tellEscalationApprovers(userIds, shown),
    showHome: (overview) => world.notifier.showHome(overview),
  };
}

function noticesOf(world: ServiceWorld, notifier: Notifier = world.notifier): NoticeService {
  return new NoticeService({ ...world.deps, notifier, overview: new OverviewService(world.deps) });
}

async function recordedSteps(world: ServiceWorld, requestId: string, notice: string): Promise<NoticeStep[]> {
  return [...((await world.store.forNotice(requestId, notice))?.done ?? [])];
}

/** Delivers one notice of a new request; returns the parts recorded as done. */
async function recordedAfter(kind: NoticeKind, textPartsPost: boolean): Promise<NoticeStep[]> {
  const world = serviceWorld();
  const request = await world.file();
  const notices = noticesOf(world, notifierWhoseTextParts(world, textPartsPost));
  await notices.deliver(request.id, kind, { notice: `${kind}-v1`, mayWaitForApprovalMessage: true });
  return recordedSteps(world, request.id, `${kind}-v1`);
}

describe('NoticeService: what a notice records as done', () => {
  it('every part that posted, except the App Home redraw, which is last and is redone anyway', async () => {
    expect(await recordedAfter('requested', true)).toEqual([
      'approval-message',
      'thread-reply',
      'requester-dm',
      'audit-channel',
    ]);
  });

  it('not the parts that had nothing to say: run again, they would post nothing again', async () => {
    // A new request tells only the approval channel; each record is a round trip to Redis.
    expect(await recordedAfter('requested', false)).toEqual(['approval-message']);
  });

  it('the same notice run again, as when it is queued again after its job is gone, posts nothing twice', async () => {
    const world = serviceWorld();
    const request = await world.activeGrant();
    const notices = noticesOf(world);
    const attempt = { notice: `activated-v${request.version}`, mayWaitForApprovalMessage: true };
    await notices.deliver(request.id, 'activated', attempt);
    const posted = world.notifier.calls.filter((call) => call.method !== 'showHome').length;
    expect(posted).toBeGreaterThan(0);

    await notices.deliver(request.id, 'activated', attempt);
    expect(world.notifier.calls.filter((call) => call.method !== 'showHome')).toHaveLength(posted);
    // Another notice of the same request is its own: recorded apart, delivered in full.
    await notices.deliver(request.id, 'activated', { ...attempt, notice: 'activated-v99' });
    expect(world.notifier.calls.filter((call) => call.method !== 'showHome').length).toBeGreaterThan(posted);
  });

  it('a reminder is recorded once posted, so the job that queued it, retried, cannot remind twice', async () => {
    const world = serviceWorld();
    const request = await world.activeGrant();
    const notices = noticesOf(world);
    world.clock.set((request.expiresAt ?? 0) - world.deps.policy.current().settings.reminderBeforeMs);
    const attempt = { notice: `expiry-reminder-v${request.version}`, mayWaitForApprovalMessage: true };
    await notices.deliver(request.id, 'expiry-reminder', attempt);
    await notices.deliver(request.id, 'expiry-reminder', attempt);
    const reminders = world.notifier.callsOf('tellRequester').filter((call) => call.kind === 'expiry-reminder');
    expect(reminders).toHaveLength(1);
    expect(await recordedSteps(world, request.id, attempt.notice)).toEqual(['requester-dm']);
  });

  it('parts an earlier version recorded in the job itself are skipped too', async () => {
    const world = serviceWorld();
    const request = await world.file();
    const notices = noticesOf(world, notifierWhoseTextParts(world, true));
    await notices.deliver(request.id, 'requested', {
      notice: 'requested-v1',
      mayWaitForApprovalMessage: true,
      doneBefore: ['approval-message', 'thread-reply'],
    });
    expect(world.notifier.callsOf('showApprovalMessage')).toEqual([]);
    expect(await recordedSteps(world, request.id, 'requested-v1')).toEqual(['requester-dm', 'audit-channel']);
  });
});
