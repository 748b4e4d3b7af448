/** The expiry reminder, sent by the grant's one revoke job: when it wakes, what it queues, and what it does not. */
import { REMINDER_SLACK_MS, REVOKE_JOB_BACKSTOP_MS } from '../../../../src/domain/expiry-reminder';
import { WORLD_START } from '../../../support/in-memory';
import { MINUTE, noticesQueued, observable, serviceWorld } from './service-world';

const T0 = WORLD_START;

describe('the expiry reminder, sent by the revoke job', () => {
  it('one delayed job per active grant: it reminds at the reminder time; the sweep ends the grant at the expiry', async () => {
    const world = serviceWorld();
    // Auto-approved, so no approval reminder is left behind either.
    const grant = await world.activeGrant({ roleId: 'staging-deployer' });
    const expiresAt = grant.expiresAt ?? 0;
    // Its grant job, run again, finds it active and schedules what follows again: still one job.
    await world.scheduler.runDue(world.handlers);
    expect(world.scheduler.pending().filter((job) => job.runAt > world.clock.now())).toEqual([
      expect.objectContaining({ id: `revoke-${grant.id}`, runAt: expiresAt - 10 * MINUTE }),
    ]);

    const atReminder = await world.scheduler.advanceTo(expiresAt - 10 * MINUTE, world.handlers);
    expect(atReminder.map((job) => job.id)).toEqual([`revoke-${grant.id}`]);
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([`expiry-reminder v${grant.version}`]);
    const backstop = expiresAt + REVOKE_JOB_BACKSTOP_MS;
    expect(world.scheduler.find(`revoke-${grant.id}`)).toMatchObject({ state: 'pending', runAt: backstop });
    expect(await world.stored(grant.id)).toMatchObject({ state: 'active' });

    await world.scheduler.advanceTo(expiresAt, world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'expired', endedAt: expiresAt });
    expect(world.scheduler.sweeps.at(-1)).toEqual({ after: expect.any(Number), until: expiresAt });
    // At its backstop the grant's own job finds it ended: the cloud is asked once.
    await world.scheduler.advanceTo(backstop, world.handlers);
    expect(world.scheduler.find(`revoke-${grant.id}`)?.state).toBe('completed');
    expect(world.cloud().calls.filter((call) => call.operation === 'revoke')).toHaveLength(1);
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toHaveLength(1);
    expect(world.scheduler.pending('reminder').filter((job) => job.noticeKind === 'expiry-reminder')).toEqual([]);
  });

  it('early revocation moves the one job to now, before its reminder: no reminder', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    world.clock.advance(5 * MINUTE);
    await world.requests.revoke(grant.id, 'U0ALICE');
    await world.scheduler.advanceTo(grant.expiresAt ?? 0, world.handlers);
    expect(await world.stored(grant.id)).toMatchObject({ state: 'revoked', endedAt: T0 + 5 * MINUTE });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([]);
  });
});

describe('GrantLifecycle.finishAccess before the expiry', () => {
  it('not-due before the expiry reminder: nothing touched, due again at the reminder', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const expiresAt = grant.expiresAt ?? 0;
    world.clock.set(expiresAt - 10 * MINUTE - REMINDER_SLACK_MS - 1);
    const before = await observable(world);
    expect(await world.lifecycle.finishAccess(grant.id)).toEqual({ kind: 'not-due', dueAt: expiresAt - 10 * MINUTE });
    expect(await observable(world)).toEqual(before);
  });

  it('at the expiry reminder: the reminder queued as a notice of this version, due again at the expiry', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const expiresAt = grant.expiresAt ?? 0;
    world.clock.set(expiresAt - 10 * MINUTE);
    expect(await world.lifecycle.finishAccess(grant.id)).toEqual({
      kind: 'not-due',
      dueAt: expiresAt + REVOKE_JOB_BACKSTOP_MS,
      reminderQueued: true,
    });
    expect(world.scheduler.pending('notice').map((job) => job.id)).toContain(
      `notice-${grant.id}-expiry-reminder-v${grant.version}`,
    );
    expect(await world.stored(grant.id)).toEqual(grant);
  });

  it('the reminder queued by a rerun before the expiry is the same notice: it is not sent twice', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    const expiresAt = grant.expiresAt ?? 0;
    world.clock.set(expiresAt - 10 * MINUTE);
    await world.lifecycle.finishAccess(grant.id);
    world.clock.set(expiresAt - 5 * MINUTE);
    expect(await world.lifecycle.finishAccess(grant.id)).toMatchObject({
      kind: 'not-due',
      dueAt: expiresAt + REVOKE_JOB_BACKSTOP_MS,
    });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([`expiry-reminder v${grant.version}`]);
  });

  it('no reminder from a job woken before the expiry once the grant is being ended early', async () => {
    const world = serviceWorld();
    const grant = await world.activeGrant();
    await world.requests.revoke(grant.id, 'U0ALICE');
    world.clock.set((grant.expiresAt ?? 0) - 10 * MINUTE);
    expect(await world.lifecycle.finishAccess(grant.id)).toMatchObject({ kind: 'done', request: { state: 'revoked' } });
    expect(noticesQueued(world, grant.id, 'expiry-reminder')).toEqual([]);
  });
});
