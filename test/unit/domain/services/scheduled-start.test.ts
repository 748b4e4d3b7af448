import { WORLD_START } from '../../../support/in-memory';
import { expectRefusal, HOUR, MINUTE, pendingJobIds, serviceWorld, transitions } from './service-world';

const T0 = WORLD_START;
const DAY = 24 * HOUR;
const START = T0 + 2 * DAY;

describe('a request with a scheduled start', () => {
  it('is stored with its start; the approval deadline is the role’s timeout when the start is further', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    const request = await world.file({ duration: '2h', startsAt: START });
    expect(request).toMatchObject({ state: 'pending', startsAt: START, approvalDeadline: T0 + 30 * MINUTE });
    expect(await world.stored('k7m2xq9d')).toMatchObject({ startsAt: START });
    expect(await transitions(world, 'k7m2xq9d')).toEqual([
      `none→pending by U0ALICE: scheduled start ${new Date(START).toISOString()}: debugging INC-42`,
    ]);
  });

  it('caps the approval deadline at the start, and reminds approvers within it', async () => {
    const world = serviceWorld();
    const request = await world.file({ startsAt: T0 + 12 * MINUTE });
    expect(request.approvalDeadline).toBe(T0 + 12 * MINUTE);
    // The timeout job wakes halfway for the approvers' reminder, then sleeps on to the deadline.
    expect(world.scheduler.pending('approval-timeout').map((job) => job.runAt)).toEqual([T0 + 6 * MINUTE]);
    await world.scheduler.advanceTo(T0 + 6 * MINUTE, world.handlers);
    expect(world.scheduler.pending('approval-timeout').map((job) => job.runAt)).toEqual([T0 + 12 * MINUTE]);
    expect(world.scheduler.pending('reminder').map((job) => job.runAt)).toEqual([T0 + 6 * MINUTE]);
  });

  it('refuses a start in the past (or now), with nothing stored', async () => {
    const world = serviceWorld();
    await expectRefusal(world, () => world.file({ startsAt: T0 - MINUTE }), 'start_in_past', {
      startsAt: T0 - MINUTE,
      now: T0,
    });
    await expectRefusal(world, () => world.file({ startsAt: T0 }), 'start_in_past');
  });

  it('refuses a start further ahead than maxLeadTime (7d by default, per role, per settings)', async () => {
    const world = serviceWorld();
    await world.file({ startsAt: T0 + 7 * DAY });
    await expectRefusal(world, () => world.file({ startsAt: T0 + 7 * DAY + 1 }), 'start_too_far', {
      roleId: 'sandbox-admin',
      startsAt: T0 + 7 * DAY + 1,
      now: T0,
      limit: '7d',
      maxLeadMs: 7 * DAY,
    });
    world.setPolicy(
      `
settings:
  maxLeadTime: 1d
roles:
  - id: sandbox-admin
    description: Admin on the sandbox account
    provider: dryrun
    maxLeadTime: 2h
    approvalChannel: C0APPROVALS
    approvers: { users: [U0LEAD] }
  - id: other
    description: Other
    provider: dryrun
    autoApprove: true
`,
    );
    const roleLimit = await expectRefusal(world, () => world.file({ startsAt: T0 + 3 * HOUR }), 'start_too_far');
    expect(roleLimit.details).toMatchObject({ limit: '2h' });
    const settingsLimit = await expectRefusal(
      world,
      () => world.file({ roleId: 'other', startsAt: T0 + 25 * HOUR }),
      'start_too_far',
    );
    expect(settingsLimit.details).toMatchObject({ limit: '1d' });
  });

  it('once approved, schedules the grant at the start (not now); nothing is granted before it', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    await world.file({ duration: '2h', startsAt: START });
    const click = await world.postApprovalMessage('k7m2xq9d');
    await world.requests.approve('k7m2xq9d', 'U0LEAD', click);

    expect(world.scheduler.find('grant-k7m2xq9d')).toMatchObject({ state: 'pending', runAt: START });
    expect(world.scheduler.find('approval-timeout-k7m2xq9d')).toBeUndefined();
    await world.scheduler.advanceTo(START - 1, world.handlers);
    expect(world.cloud().calls).toEqual([]);
    expect(await world.stored('k7m2xq9d')).toMatchObject({ state: 'approved' });

    await world.scheduler.advanceTo(START, world.handlers);
    expect(await world.stored('k7m2xq9d')).toMatchObject({
      state: 'active',
      activatedAt: START,
      expiresAt: START + 2 * HOUR,
    });
    // The one revoke job wakes first at the expiry reminder, then at the expiry.
    expect(world.scheduler.find('revoke-k7m2xq9d')).toMatchObject({ runAt: START + 2 * HOUR - 10 * MINUTE });
    await world.scheduler.advanceTo(START + 2 * HOUR, world.handlers);
    expect(await world.stored('k7m2xq9d')).toMatchObject({ state: 'expired' });
  });

  it('auto-approved roles also wait for the start', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    const request = await world.file({ roleId: 'staging-deployer', startsAt: START });
    expect(request.state).toBe('approved');
    expect(world.scheduler.find('grant-k7m2xq9d')).toMatchObject({ runAt: START });
  });

  it('a grant job that runs early (re-added by the reconciler) waits for the start', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    await world.file({ roleId: 'staging-deployer', startsAt: START });
    expect(await world.lifecycle.activate('k7m2xq9d')).toEqual({ kind: 'not-due', dueAt: START });
    expect(world.cloud().calls).toEqual([]);
  });

  it('expiry is start + duration even when the grant job runs late; a window already over fails', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d', 'p3n8vb2c'] });
    await world.file({ roleId: 'staging-deployer', duration: '1h', startsAt: START });
    world.clock.set(START + 10 * MINUTE);
    expect(await world.lifecycle.activate('k7m2xq9d')).toMatchObject({
      kind: 'done',
      request: { expiresAt: START + HOUR },
    });

    world.clock.set(START + 11 * MINUTE);
    await world.file({
      roleId: 'staging-deployer',
      duration: '1h',
      startsAt: START + 20 * MINUTE,
      requesterId: 'U0BOB',
    });
    world.clock.set(START + 2 * HOUR);
    expect(await world.lifecycle.activate('p3n8vb2c')).toEqual({ kind: 'skipped', why: 'scheduled window passed' });
    expect(await world.stored('p3n8vb2c')).toMatchObject({ state: 'failed' });
  });

  describe('calling it off before the start', () => {
    async function approvedAhead() {
      const world = serviceWorld({ ids: ['k7m2xq9d'] });
      await world.file({ startsAt: START });
      const click = await world.postApprovalMessage('k7m2xq9d');
      await world.requests.approve('k7m2xq9d', 'U0LEAD', click);
      return world;
    }

    it('the requester cancels: the scheduled grant job is removed, and nothing is granted at the start', async () => {
      const world = await approvedAhead();
      const cancelled = await world.requests.cancel('k7m2xq9d', 'U0ALICE');
      expect(cancelled).toMatchObject({ state: 'cancelled', endedBy: 'U0ALICE' });
      expect(world.scheduler.find('grant-k7m2xq9d')).toBeUndefined();
      expect(pendingJobIds(world)).toContain(`notice-k7m2xq9d-cancelled-v${cancelled.version}`);
      await world.scheduler.advanceTo(START + HOUR, world.handlers);
      expect(world.cloud().calls).toEqual([]);
    });

    it('an approver of the role cancels or revokes it too; someone else may not', async () => {
      const world = await approvedAhead();
      await expectRefusal(world, () => world.requests.cancel('k7m2xq9d', 'U0BOB'), 'not_allowed', {
        situation: 'not-requester-or-approver',
        action: 'cancel',
        requestId: 'k7m2xq9d',
        requesterId: 'U0ALICE',
        roleId: 'sandbox-admin',
      });
      const revoked = await world.requests.revoke('k7m2xq9d', 'U0CAROL');
      expect(revoked).toMatchObject({ state: 'cancelled', endedBy: 'U0CAROL' });
      expect(world.scheduler.find('grant-k7m2xq9d')).toBeUndefined();
      expect(world.scheduler.find('revoke-k7m2xq9d')).toBeUndefined();
      expect((await transitions(world, 'k7m2xq9d')).at(-1)).toBe(
        `approved→cancelled by U0CAROL: called off by an approver before its scheduled start ${new Date(START).toISOString()}`,
      );
    });

    it('once the start has come, cancel is refused and the grant goes ahead', async () => {
      const world = await approvedAhead();
      world.clock.set(START);
      await expectRefusal(world, () => world.requests.cancel('k7m2xq9d', 'U0ALICE'), 'invalid_state');
    });
  });

  it('the reconciler does not take a request waiting for its start for a stuck approval', async () => {
    const world = serviceWorld({ ids: ['k7m2xq9d'] });
    await world.file({ roleId: 'staging-deployer', startsAt: START });
    world.scheduler.lose('grant-k7m2xq9d');
    world.clock.set(T0 + HOUR);
    const report = await world.reconciler.reconcile();
    expect(report.grantsRescheduled).toBe(0);
    world.clock.set(START + 3 * MINUTE);
    expect((await world.reconciler.reconcile()).grantsRescheduled).toBe(1);
  });
});
