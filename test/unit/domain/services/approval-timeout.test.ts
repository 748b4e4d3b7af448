/** The approval-timeout job: it reminds the approvers first, then times the request out at its deadline. */
import { WORLD_START } from '../../../support/in-memory';
import { MINUTE, pendingJobIds, serviceWorld, transitions } from './service-world';

const T0 = WORLD_START;

describe('GrantLifecycle.timeOutPending', () => {
  it('wakes at the reminder, which it queues, then at the deadline, where it times the request out', async () => {
    const world = serviceWorld();
    const request = await world.file();
    const remindAt = T0 + 20 * MINUTE;
    // Woken early (a clock adjustment): it sleeps until the reminder, and queues nothing.
    world.clock.set(T0 + MINUTE);
    expect(await world.lifecycle.timeOutPending(request.id)).toEqual({ kind: 'not-due', dueAt: remindAt });
    expect(world.scheduler.pending('reminder')).toEqual([]);

    world.clock.set(remindAt);
    expect(await world.lifecycle.timeOutPending(request.id)).toEqual({
      kind: 'not-due',
      dueAt: request.approvalDeadline,
      reminderQueued: true,
    });
    expect(await world.stored(request.id)).toEqual(request);
    expect(world.scheduler.pending('reminder').map((job) => job.id)).toEqual([
      `reminder-${request.id}-approval-reminder-${remindAt}`,
    ]);

    world.clock.set(request.approvalDeadline);
    const outcome = await world.lifecycle.timeOutPending(request.id);
    expect(outcome).toMatchObject({ kind: 'done', request: { state: 'timed-out', version: 2 } });
    expect(pendingJobIds(world)).toContain(`notice-${request.id}-timed-out-v2`);
    expect((await transitions(world, request.id)).at(-1)).toBe(
      'pending→timed-out by system:approval-timeout: no decision within 30m',
    );
    expect(await world.lifecycle.timeOutPending(request.id)).toEqual({ kind: 'skipped', why: 'no longer pending' });
  });

  it('run again after the reminder, even after an approval changed the request, it does not remind twice', async () => {
    const world = serviceWorld();
    const request = await world.file({ roleId: 'prod-admin' });
    const click = await world.postApprovalMessage(request.id);
    world.clock.set(T0 + 20 * MINUTE);
    await world.scheduler.runDue(world.handlers);
    // One of the two approvals: the request moves to version 2, still pending.
    await world.requests.approve(request.id, 'U0LEAD', click);
    world.clock.advance(MINUTE);
    expect(await world.lifecycle.timeOutPending(request.id)).toMatchObject({ kind: 'not-due', reminderQueued: true });
    expect(world.scheduler.jobs().filter((job) => job.noticeKind === 'approval-reminder')).toHaveLength(1);
  });

  it('a decision cancels the one job: no reminder is left waiting', async () => {
    const world = serviceWorld();
    const request = await world.file();
    await world.requests.approve(request.id, 'U0LEAD', await world.postApprovalMessage(request.id));
    expect(
      world.scheduler
        .pending()
        .filter((job) => job.requestId === request.id)
        .map((job) => job.id)
        .sort(),
    ).toEqual([`grant-${request.id}`, `notice-${request.id}-approved-v2`, `notice-${request.id}-requested-v1`]);
  });

  it('a decided or unknown request is skipped', async () => {
    const world = serviceWorld();
    const request = await world.file();
    await world.requests.approve(request.id, 'U0LEAD', { fromAppHome: true });
    world.clock.set(request.approvalDeadline);
    expect(await world.lifecycle.timeOutPending(request.id)).toEqual({ kind: 'skipped', why: 'no longer pending' });
    expect(await world.lifecycle.timeOutPending('nosuchid')).toEqual({ kind: 'skipped', why: 'no longer pending' });
  });
});
